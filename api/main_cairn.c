/*
 * cairn: the administration CLI of the provisioning API (docs/cli.md).
 *
 *   cairn [--url URL] [--token TOKEN] [--json] COMMAND ...
 *
 * The server and the token come from the flags, else CAIRN_URL and
 * CAIRN_TOKEN, else the configuration file (--config, CAIRN_CONFIG or
 * ~/.config/cairn/cairn.conf: "url = ...", "token = ...", "cacert = ...").
 * Exit codes: 0 done, 1 the server refused (4xx), 2 usage (or a bad
 * import file), 3 the server cannot be reached or failed (5xx), 4 status
 * lists problems.
 *
 * This file parses the command line and dispatches; the commands are in
 * cairn_cmd_*.c by group, their shared helpers in cairn_cmd_util.c.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/cairn_cmd.h"
#include "common/cm_conf.h"
#include "common/cm_err.h"

struct cmd {
	const char	*name, *sub;
	int		 minpos, maxpos;
	const char	*usage;
	int		(*fn)(struct opts *);
};

static const struct cmd cmds[];

static int
usage_of(const struct cmd *c, FILE *f)
{
	fprintf(f, "usage: cairn [--url URL] [--token TOKEN] [--json] %s%s%s "
	    "%s\n", c->name, c->sub != NULL ? " " : "", c->sub != NULL ?
	    c->sub : "", c->usage);
	return EX_USAGE;
}

static void
usage_all(FILE *f)
{
	fprintf(f, "usage: cairn [--url URL] [--token TOKEN] [--json] "
	    "[--config FILE] [--cacert PEM] [--idempotency-key KEY]\n"
	    "             COMMAND ...\n\n"
	    "commands:\n");
	for (const struct cmd *c = cmds; c->name != NULL; c++)
		fprintf(f, "  %s%s%s %s\n", c->name, c->sub != NULL ? " " : "",
		    c->sub != NULL ? c->sub : "", c->usage);
	fprintf(f, "\nThe server URL and token also come from CAIRN_URL and "
	    "CAIRN_TOKEN, or from\nthe file CAIRN_CONFIG or "
	    "~/.config/cairn/cairn.conf (url = ..., token = ...,\ncacert = "
	    "...); https URLs are verified against --cacert, CAIRN_CACERT or "
	    "the system's CAs.\n"
	    "Exit codes: 0 done, 1 refused by the server, 2 usage (or a bad "
	    "import file), 3 server\nunreachable or failing, 4 status lists "
	    "problems.\n");
}

static const struct cmd cmds[] = {
	{ "ca", "list", 0, 0, "[--limit N] [--after HANDLE]", c_ca_list },
	{ "ca", "show", 1, 1, "HANDLE", c_ca_show },
	{ "ca", "create", 1, 1, "HANDLE --parent PARENT [--asn SET] "
	    "[--ipv4 SET] [--ipv6 SET]", c_ca_create },
	{ "ca", "resources", 1, 1, "HANDLE [--asn SET] [--ipv4 SET] "
	    "[--ipv6 SET]", c_ca_resources },
	{ "ca", "delete", 1, 1, "HANDLE", c_ca_delete },
	{ "roa", "list", 1, 1, "HANDLE", c_roa_list },
	{ "roa", "add", 3, 3, "HANDLE ASN PREFIX [--max-length N]", c_roa_add },
	{ "roa", "remove", 3, 3, "HANDLE ASN PREFIX [--max-length N]",
	    c_roa_remove },
	{ "aspa", "list", 1, 1, "HANDLE", c_aspa_list },
	{ "aspa", "set", 3, 3, "HANDLE CUSTOMER PROVIDER[,PROVIDER...]",
	    c_aspa_set },
	{ "aspa", "remove", 2, 2, "HANDLE CUSTOMER", c_aspa_remove },
	{ "router-cert", "add", 3, 3, "HANDLE CSR-FILE ASN[,ASN...]",
	    c_router_add },
	{ "router-cert", "list", 1, 1, "HANDLE", c_router_list },
	{ "router-cert", "remove", 2, 2, "HANDLE KEY", c_router_remove },
	{ "keyroll", "start", 1, 1, "HANDLE", c_kr_start },
	{ "keyroll", "activate", 1, 1, "HANDLE [--force]", c_kr_activate },
	{ "keyroll", "finish", 1, 1, "HANDLE", c_kr_finish },
	{ "transfer", NULL, 2, 2, "FROM TO [--asn SET] [--ipv4 SET] "
	    "[--ipv6 SET]", c_transfer },
	{ "history", NULL, 0, 1, "[HANDLE] [--actor NAME] [--since TIME] "
	    "[--until TIME] [--limit N] [--before ID]", c_history },
	{ "status", NULL, 0, 1, "[HANDLE]", c_status },
	{ "ta", "create", 1, 1, "HANDLE [--asn SET] [--ipv4 SET] [--ipv6 SET]",
	    c_ta_create },
	{ "ta", "show", 1, 1, "HANDLE [--cert FILE]", c_ta_show },
	{ "ta", "tal", 1, 1, "HANDLE [--next]", c_ta_tal },
	{ "ta-keyroll", "start", 1, 1, "HANDLE", c_takr_start },
	{ "ta-keyroll", "finish", 1, 1, "HANDLE [--force]", c_takr_finish },
	{ "ta-keyroll", "status", 1, 1, "HANDLE", c_takr_status },
	{ "parent", "show", 1, 1, "HANDLE", c_parent_show },
	{ "parent", "offline-request", 1, 2, "HANDLE [REQUEST-FILE]",
	    c_parent_off_request },
	{ "parent", "offline-import", 2, 2, "HANDLE RESPONSE-FILE",
	    c_parent_off_import },
	{ "token", "list", 0, 0, "", c_token_list },
	{ "token", "create", 1, 1, "NAME --ca HANDLE | NAME --admin",
	    c_token_create },
	{ "token", "revoke", 1, 1, "NAME", c_token_revoke },
	{ "publisher", "list", 0, 0, "[--kind ca|remote] [--limit N] "
	    "[--after HANDLE]", c_pub_list },
	{ "publisher", "add", 1, 1, "PUBLISHER-REQUEST.xml [--handle HANDLE]",
	    c_pub_add },
	{ "publisher", "show", 1, 1, "HANDLE", c_pub_show },
	{ "publisher", "remove", 1, 1, "HANDLE", c_pub_remove },
	{ "import", "resources", 1, 1, "FILE.csv|FILE.json [--dry-run]",
	    c_import },
	{ "child", "list", 1, 1, "PARENT", c_child_list },
	{ "child", "add", 2, 2, "PARENT CHILD-REQUEST-FILE [--asn SET] "
	    "[--ipv4 SET] [--ipv6 SET] [--force]", c_child_add },
	{ "child", "show", 2, 2, "PARENT CHILD", c_child_show },
	{ "child", "response", 2, 2, "PARENT CHILD", c_child_response },
	{ "child", "resources", 2, 2, "PARENT CHILD [--asn SET] [--ipv4 SET] "
	    "[--ipv6 SET]", c_child_resources },
	{ "child", "remove", 2, 2, "PARENT CHILD", c_child_remove },
	{ NULL, NULL, 0, 0, NULL, NULL },
};

int
cmd_usage(const char *name, const char *sub, FILE *f)
{
	for (const struct cmd *c = cmds; c->name != NULL; c++)
		if (strcmp(c->name, name) == 0 && (c->sub == NULL ? sub ==
		    NULL : sub != NULL && strcmp(c->sub, sub) == 0))
			return usage_of(c, f);
	return EX_USAGE;
}

/* Options that take a value, and where they go. */
static const char **
opt_slot(struct opts *o, const char *name)
{
	static const struct { const char *n; size_t off; } t[] = {
#define S(n, f) { n, offsetof(struct opts, f) }
		S("--url", url), S("--token", token), S("--config", config),
		S("--idempotency-key", idem), S("--cacert", cacert),
		S("--parent", parent),
		S("--asn", asn), S("--ipv4", ipv4), S("--ipv6", ipv6),
		S("--limit", limit), S("--after", after), S("--actor", actor),
		S("--since", since), S("--until", until),
		S("--max-length", max_length), S("--ca", ca),
		S("--handle", handle), S("--kind", kind), S("--before", before),
		S("--cert", cert),
#undef S
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(t[i].n, name) == 0)
			return (const char **)((char *)o + t[i].off);
	return NULL;
}

static int
load_config(struct opts *o, char **curl, char **ctoken, char **ccacert)
{
	struct cm_conf_key	 keys[3] = {
	    { "", "url", CM_CONF_STR, curl, 0, 0, 0, "server URL" },
	    { "", "token", CM_CONF_STR, ctoken, 0, 0, 0, "bearer token" },
	    { "", "cacert", CM_CONF_STR, ccacert, 0, 0, 0,
		"PEM file of the CAs trusted for https" },
	};
	struct cm_err		 err;
	const char		*path = o->config, *home;
	char			 def[1024];

	if (path == NULL)
		path = getenv("CAIRN_CONFIG");
	if (path == NULL && (home = getenv("HOME")) != NULL) {
		snprintf(def, sizeof(def), "%s/.config/cairn/cairn.conf", home);
		if (access(def, R_OK) != 0)
			return 0;
		path = def;
	}
	if (path == NULL)
		return 0;
	if (cm_conf_load(path, keys, 3, &err) == -1) {
		fprintf(stderr, "cairn: %s\n", err.msg);
		return -1;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	struct opts		 o;
	const struct cmd	*c, *found = NULL;
	const char		*words[2] = { NULL, NULL }, **slot;
	char			*curl = NULL, *ctoken = NULL, *ccacert = NULL;
	int			 i, nw = 0, rc;

	memset(&o, 0, sizeof(o));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			o.json = 1;
		else if (strcmp(argv[i], "--force") == 0)
			o.force = 1;
		else if (strcmp(argv[i], "--admin") == 0)
			o.admin = 1;
		else if (strcmp(argv[i], "--dry-run") == 0)
			o.dry_run = 1;
		else if (strcmp(argv[i], "--next") == 0)
			o.next = 1;
		else if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0)
			o.help = 1;
		else if (strncmp(argv[i], "--", 2) == 0) {
			if ((slot = opt_slot(&o, argv[i])) == NULL) {
				fprintf(stderr, "cairn: unknown option %s\n",
				    argv[i]);
				return EX_USAGE;
			}
			if (i + 1 == argc) {
				fprintf(stderr, "cairn: %s needs a value\n",
				    argv[i]);
				return EX_USAGE;
			}
			*slot = argv[++i];
		} else if (nw < 2 && o.npos == 0 && (nw == 0 ||
		    (words[0] != NULL && strcmp(words[0], "transfer") != 0 &&
		    strcmp(words[0], "history") != 0 &&
		    strcmp(words[0], "status") != 0)))
			words[nw++] = argv[i];
		else if (o.npos < (int)(sizeof(o.pos) / sizeof(o.pos[0])))
			o.pos[o.npos++] = argv[i];
		else
			return EX_USAGE;
	}
	if (words[0] == NULL) {
		usage_all(o.help ? stdout : stderr);
		return o.help ? EX_OK : EX_USAGE;
	}
	for (c = cmds; c->name != NULL; c++)
		if (strcmp(c->name, words[0]) == 0 && (c->sub == NULL ||
		    (words[1] != NULL && strcmp(c->sub, words[1]) == 0)))
			found = c;
	if (found == NULL) {
		for (c = cmds; c->name != NULL; c++)
			if (strcmp(c->name, words[0]) == 0) {
				if (o.help && words[1] == NULL) {
					usage_of(c, stdout);
					found = c;
				} else if (!o.help)
					usage_of(c, stderr);
			}
		if (found != NULL)
			return EX_OK;
		if (o.help)
			usage_all(stdout);
		else
			fprintf(stderr, "cairn: unknown command %s%s%s (cairn "
			    "--help)\n", words[0], words[1] != NULL ? " " : "",
			    words[1] != NULL ? words[1] : "");
		return o.help ? EX_OK : EX_USAGE;
	}
	/* Commands without a subcommand took the second word as argument. */
	if (found->sub == NULL && words[1] != NULL) {
		memmove(&o.pos[1], &o.pos[0], sizeof(o.pos[0]) * 7);
		o.pos[0] = words[1];
		if (o.npos < 8)
			o.npos++;
	}
	if (o.help) {
		usage_of(found, stdout);
		return EX_OK;
	}
	if (o.npos < found->minpos || o.npos > found->maxpos)
		return usage_of(found, stderr);
	if (load_config(&o, &curl, &ctoken, &ccacert) == -1)
		return EX_USAGE;
	if (o.cacert == NULL)
		o.cacert = getenv("CAIRN_CACERT");
	if (o.cacert == NULL)
		o.cacert = ccacert;
	if (o.url == NULL)
		o.url = getenv("CAIRN_URL");
	if (o.url == NULL)
		o.url = curl;
	if (o.url == NULL)
		o.url = "http://127.0.0.1:8480";
	if (o.token == NULL)
		o.token = getenv("CAIRN_TOKEN");
	if (o.token == NULL)
		o.token = ctoken;
	if (o.token == NULL && strcmp(found->name, "status") != 0) {
		fprintf(stderr, "cairn: no token (--token, CAIRN_TOKEN or the "
		    "configuration file)\n");
		free(curl);
		free(ccacert);
		return EX_USAGE;
	}
	rc = found->fn(&o);
	free(curl);
	free(ctoken);
	free(ccacert);
	return rc;
}
