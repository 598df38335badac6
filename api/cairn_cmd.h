/*
 * What the files of the cairn CLI share: the parsed command line, the exit
 * codes, the request helpers and the commands that main_cairn.c dispatches
 * to.  These files make up the cairn executable only (api/CMakeLists.txt
 * keeps them out of the cairn_api library).
 */
#ifndef CAIRN_CMD_H
#define CAIRN_CMD_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "api/api_client.h"
#include "common/cm_buf.h"

#define EX_OK		0
#define EX_REFUSED	1
#define EX_USAGE	2
#define EX_UNREACHABLE	3
#define EX_PROBLEMS	4	/* status: done, and it lists problems */

struct opts {
	const char	*url, *token, *config, *idem, *cacert;
	int		 json, help;
	/* Command options. */
	const char	*parent, *asn, *ipv4, *ipv6, *limit, *after, *actor,
			*since, *until, *max_length;
	const char	*ca, *handle, *kind, *before;
	const char	*cert;		/* ta show --cert FILE */
	int		 force, admin, dry_run;
	int		 next;		/* ta tal --next */
	const char	*pos[8];
	int		 npos;
};

/* Prints what a successful request returned (not called with --json). */
typedef void	(*cmd_print_fn)(const struct opts *, json_t *);

/* main_cairn.c: prints the usage line of the command "name sub" to f. */
int		 cmd_usage(const char *name, const char *sub, FILE *f);

/*
 * cairn_cmd_util.c.  cmd_call() sends one request; it prints the reply's
 * body with --json, or the server's error, and returns an exit code.  On
 * EX_OK *out is the reply (an empty object if it had no body), else NULL;
 * the caller frees it with json_decref().  body is borrowed.
 */
int		 cmd_call(struct opts *o, const char *method, const char *path,
		    json_t *body, json_t **out);
/* cmd_call() with a body that is sent as it is (NUL-terminated; NULL). */
int		 cmd_call_raw(struct opts *o, const char *method,
		    const char *path, const char *body, json_t **out);
/*
 * cmd_call(), then print(o, reply) when it succeeded and --json is not
 * set.  Takes over body (may be NULL).  Returns the exit code.
 */
int		 cmd_run(struct opts *o, const char *method, const char *path,
		    json_t *body, cmd_print_fn print);
/* The options of api_http_do() for this command line. */
void		 cmd_http_opts(const struct opts *o, int timeout_ms,
		    struct api_http_opts *ho);
/* Writes fmt with its "%s" replaced by the percent-encoded arg to out. */
void		 cmd_path(char *out, size_t len, const char *fmt,
		    const char *arg);
/*
 * Appends "?name=value" (first) or "&name=value" to q, the value
 * percent-encoded, if value is not NULL; *sep tracks which.
 */
void		 cmd_query(struct cm_buf *q, char *sep, const char *name,
		    const char *value);
/* The string member k of o, or "-". */
const char	*cmd_js(json_t *o, const char *k);
/* s, or "-" if NULL or empty. */
const char	*cmd_dash(const char *s);
/* The integer member k of o (0 if absent). */
long long	 cmd_ji(json_t *o, const char *k);
/* A new object with the --asn, --ipv4 and --ipv6 given. */
json_t		*cmd_res_body(const struct opts *o);
/* Prints the asn/ipv4/ipv6 lines of a resources object r. */
void		 cmd_print_res(json_t *r);
/* "AS64496" or "64496" to a number; -1 if it is not an AS number. */
int		 cmd_parse_asn(const char *s, json_int_t *out);
/*
 * "ASN[,ASN...]" to a new array in *out; EX_OK, or EX_USAGE after a
 * message naming the bad element.
 */
int		 cmd_parse_asn_list(const char *s, json_t **out);
/*
 * Reads the text file path (at most 1 MiB) into a new object
 * { key: text } in *out.  EX_OK, or EX_USAGE after a message.
 */
int		 cmd_read_text(const char *path, const char *key, json_t **out);

/* cairn_cmd_ca.c: ca, keyroll, transfer. */
int	c_ca_list(struct opts *);
int	c_ca_show(struct opts *);
int	c_ca_create(struct opts *);
int	c_ca_resources(struct opts *);
int	c_ca_delete(struct opts *);
int	c_kr_start(struct opts *);
int	c_kr_activate(struct opts *);
int	c_kr_finish(struct opts *);
int	c_transfer(struct opts *);

/* cairn_cmd_obj.c: roa, aspa, router-cert. */
int	c_roa_list(struct opts *);
int	c_roa_add(struct opts *);
int	c_roa_remove(struct opts *);
int	c_aspa_list(struct opts *);
int	c_aspa_set(struct opts *);
int	c_aspa_remove(struct opts *);
int	c_router_add(struct opts *);
int	c_router_list(struct opts *);
int	c_router_remove(struct opts *);

/* cairn_cmd_admin.c: status, history, token. */
int	c_status(struct opts *);
int	c_history(struct opts *);
int	c_token_list(struct opts *);
int	c_token_create(struct opts *);
int	c_token_revoke(struct opts *);

/* cairn_cmd_ta.c: ta, ta-keyroll. */
int	c_ta_create(struct opts *);
int	c_ta_show(struct opts *);
int	c_ta_tal(struct opts *);
int	c_takr_start(struct opts *);
int	c_takr_finish(struct opts *);
int	c_takr_status(struct opts *);

/* cairn_cmd_parent.c: parent (a remote or offline parent). */
int	c_parent_show(struct opts *);
int	c_parent_off_request(struct opts *);
int	c_parent_off_import(struct opts *);

/* cairn_cmd_child.c: child. */
int	c_child_list(struct opts *);
int	c_child_add(struct opts *);
int	c_child_show(struct opts *);
int	c_child_response(struct opts *);
int	c_child_resources(struct opts *);
int	c_child_remove(struct opts *);

/* cairn_cmd_pub.c: publisher, import. */
int	c_pub_list(struct opts *);
int	c_pub_add(struct opts *);
int	c_pub_show(struct opts *);
int	c_pub_remove(struct opts *);
int	c_import(struct opts *);

#endif
