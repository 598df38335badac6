/*
 * cairn CLI: delegated children (RFC 6492 / RFC 8183): child list|add|show|
 * response|resources|remove.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "api/cairn_cmd.h"

/* /api/v1/cas/PARENT/children[/CHILD][suffix] */
static void
child_path(char *out, size_t len, const char *parent, const char *child,
    const char *suffix)
{
	char c[1200];

	cmd_path(out, len, "/api/v1/cas/%s/children", parent);
	if (child != NULL) {
		cmd_path(c, sizeof(c), "/%s", child);
		strncat(out, c, len - strlen(out) - 1);
	}
	strncat(out, suffix, len - strlen(out) - 1);
}

static void
print_child(const struct opts *o, json_t *c)
{
	json_t	*r = json_object_get(c, "resources"), *v;
	size_t	 i;

	printf("child     %s\nas        %s\nipv4      %s\nipv6      %s\n"
	    "created   %s\nlast req  %s\n", cmd_js(c, "handle"),
	    cmd_js(r, "asn"), cmd_js(r, "ipv4"), cmd_js(r, "ipv6"),
	    cmd_js(c, "created"), cmd_js(c, "last_request"));
	json_array_foreach(json_object_get(c, "certificates"), i, v)
		printf("cert      %s (key %s, until %s)\n", cmd_js(v, "uri"),
		    cmd_js(v, "key"), cmd_js(v, "not_after"));
}

static void
print_children(const struct opts *o, json_t *j)
{
	json_t	*c, *r;
	size_t	 i;

	printf("%-24s %-24s %-30s %s\n", "CHILD", "AS", "IPV4", "IPV6");
	json_array_foreach(json_object_get(j, "children"), i, c) {
		r = json_object_get(c, "resources");
		printf("%-24s %-24s %-30s %s\n", cmd_js(c, "handle"),
		    cmd_js(r, "asn"), cmd_js(r, "ipv4"), cmd_js(r, "ipv6"));
	}
}

static void
print_response(const struct opts *o, json_t *j)
{
	fputs(cmd_js(j, "parent_response"), stdout);
}

int
c_child_list(struct opts *o)
{
	char	p[1300];

	child_path(p, sizeof(p), o->pos[0], NULL, "");
	return cmd_run(o, "GET", p, NULL, print_children);
}

/*
 * child add PARENT CHILD-REQUEST-FILE [--force]: prints the
 * parent_response.  --force replaces a removed child of that handle whose
 * BPKI identity differs.
 */
int
c_child_add(struct opts *o)
{
	json_t	*b;
	char	 p[1300];
	int	 rc;

	if ((rc = cmd_read_text(o->pos[1], "child_request", &b)) != EX_OK)
		return rc;
	json_object_set_new(b, "resources", cmd_res_body(o));
	if (o->force)
		json_object_set_new(b, "replace", json_true());
	child_path(p, sizeof(p), o->pos[0], NULL, "");
	return cmd_run(o, "POST", p, b, print_response);
}

int
c_child_show(struct opts *o)
{
	char	p[2600];

	child_path(p, sizeof(p), o->pos[0], o->pos[1], "");
	return cmd_run(o, "GET", p, NULL, print_child);
}

/* child response PARENT CHILD: the parent_response again. */
int
c_child_response(struct opts *o)
{
	char	p[2600];

	child_path(p, sizeof(p), o->pos[0], o->pos[1], "");
	return cmd_run(o, "GET", p, NULL, print_response);
}

int
c_child_resources(struct opts *o)
{
	char	p[2600];

	child_path(p, sizeof(p), o->pos[0], o->pos[1], "/resources");
	return cmd_run(o, "PUT", p, cmd_res_body(o), print_child);
}

static void
print_child_removed(const struct opts *o, json_t *j)
{
	printf("removed child %s of %s\n", o->pos[1], o->pos[0]);
}

int
c_child_remove(struct opts *o)
{
	char	p[2600];

	child_path(p, sizeof(p), o->pos[0], o->pos[1], "");
	return cmd_run(o, "DELETE", p, NULL, print_child_removed);
}
