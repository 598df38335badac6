/*
 * cairn CLI: ca list|show|create|resources|delete, keyroll, transfer.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "api/cairn_cmd.h"
#include "common/cm_buf.h"

static void
print_ca(const struct opts *o, json_t *c)
{
	json_t	*v;
	size_t	 i;

	printf("handle:    %s\nkind:      %s\nparent:    %s\n",
	    cmd_js(c, "handle"), cmd_js(c, "kind"), cmd_js(c, "parent"));
	cmd_print_res(json_object_get(c, "resources"));
	printf("created:   %s\nroas:      %lld\naspas:     %lld\n",
	    cmd_js(c, "created_at"), cmd_ji(c, "roas"), cmd_ji(c, "aspas"));
	json_array_foreach(json_object_get(c, "keys"), i, v)
		printf("key:       %s %s\n", cmd_js(v, "id"), cmd_js(v, "state"));
	json_array_foreach(json_object_get(c, "children"), i, v)
		printf("child:     %s\n", json_string_value(v));
}

static void
print_ca_list(const struct opts *o, json_t *j)
{
	json_t	*c, *r;
	size_t	 i;

	printf("%-20s %-7s %-20s %s\n", "HANDLE", "KIND", "PARENT", "RESOURCES");
	json_array_foreach(json_object_get(j, "cas"), i, c) {
		r = json_object_get(c, "resources");
		printf("%-20s %-7s %-20s as=%s v4=%s v6=%s\n",
		    cmd_js(c, "handle"), cmd_js(c, "kind"), cmd_js(c, "parent"),
		    cmd_dash(json_string_value(json_object_get(r, "asn"))),
		    cmd_dash(json_string_value(json_object_get(r, "ipv4"))),
		    cmd_dash(json_string_value(json_object_get(r, "ipv6"))));
	}
	if (json_is_string(json_object_get(j, "next")))
		printf("(more: --after %s)\n", cmd_js(j, "next"));
}

int
c_ca_list(struct opts *o)
{
	struct cm_buf	 q = CM_BUF_INIT;
	char		 sep = '?';
	int		 rc;

	cm_buf_puts(&q, "/api/v1/cas");
	cmd_query(&q, &sep, "limit", o->limit);
	cmd_query(&q, &sep, "after", o->after);
	rc = cmd_run(o, "GET", cm_buf_cstr(&q), NULL, print_ca_list);
	cm_buf_free(&q);
	return rc;
}

int
c_ca_show(struct opts *o)
{
	char	p[1200];

	cmd_path(p, sizeof(p), "/api/v1/cas/%s", o->pos[0]);
	return cmd_run(o, "GET", p, NULL, print_ca);
}

int
c_ca_create(struct opts *o)
{
	if (o->parent == NULL) {
		fprintf(stderr, "cairn: ca create needs --parent\n");
		return cmd_usage("ca", "create", stderr);
	}
	return cmd_run(o, "POST", "/api/v1/cas", json_pack("{s:s, s:s, s:o}",
	    "handle", o->pos[0], "parent", o->parent, "resources",
	    cmd_res_body(o)), print_ca);
}

int
c_ca_resources(struct opts *o)
{
	char	p[1200];

	cmd_path(p, sizeof(p), "/api/v1/cas/%s/resources", o->pos[0]);
	return cmd_run(o, "PUT", p, cmd_res_body(o), print_ca);
}

static void
print_deleted(const struct opts *o, json_t *j)
{
	printf("deleted CA %s: its objects are withdrawn, its certificate "
	    "revoked (%lld token(s) revoked)\n", o->pos[0],
	    cmd_ji(j, "tokens_revoked"));
}

int
c_ca_delete(struct opts *o)
{
	char	p[1200];

	cmd_path(p, sizeof(p), "/api/v1/cas/%s", o->pos[0]);
	return cmd_run(o, "DELETE", p, NULL, print_deleted);
}

static int
keyroll(struct opts *o, const char *step)
{
	char	p[1200];

	cmd_path(p, sizeof(p), "/api/v1/cas/%s/keyroll", o->pos[0]);
	return cmd_run(o, "POST", p, json_pack("{s:s, s:b}", "step", step,
	    "force", o->force), print_ca);
}

int
c_kr_start(struct opts *o)
{
	return keyroll(o, "start");
}

int
c_kr_activate(struct opts *o)
{
	return keyroll(o, "activate");
}

int
c_kr_finish(struct opts *o)
{
	return keyroll(o, "finish");
}

static void
print_transferred(const struct opts *o, json_t *j)
{
	printf("transferred from %s to %s\n", o->pos[0], o->pos[1]);
}

int
c_transfer(struct opts *o)
{
	return cmd_run(o, "POST", "/api/v1/transfers", json_pack("{s:s, s:s, "
	    "s:o}", "from", o->pos[0], "to", o->pos[1], "resources",
	    cmd_res_body(o)), print_transferred);
}
