/*
 * cairn CLI: administration: status, history, token.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "api/cairn_cmd.h"
#include "common/cm_buf.h"

static void
print_problems(json_t *j)
{
	json_t	*p;
	size_t	 i;

	if (json_array_size(json_object_get(j, "problems")) == 0) {
		printf("problems:     none\n");
		return;
	}
	json_array_foreach(json_object_get(j, "problems"), i, p)
		printf("problem:      %s: %s\n", cmd_js(p, "code"),
		    cmd_js(p, "message"));
}

static void
print_repo_status(json_t *j)
{
	json_t	*r = json_object_get(j, "rrdp"), *p = json_object_get(j,
		    "publication"), *ri = json_object_get(j, "reissue"),
		*ob = json_object_get(j, "objects"), *kp = json_object_get(j,
		    "key_pool");

	if (json_is_object(r))
		printf("rrdp:         session %s serial %lld (%s, %lld s ago)\n",
		    cmd_js(r, "session"), cmd_ji(r, "serial"),
		    cmd_js(r, "published_at"), cmd_ji(r, "age_seconds"));
	else
		printf("rrdp:         no serial yet\n");
	printf("publication:  %lld pending, lag %lld s, %lld held batch(es)\n",
	    cmd_ji(p, "pending"), cmd_ji(p, "lag_seconds"),
	    cmd_ji(p, "held_batches"));
	printf("re-issue:     next %s, %lld overdue\n", cmd_js(ri, "next_at"),
	    cmd_ji(ri, "overdue"));
	printf("objects:      %lld current, earliest notAfter %s, %lld "
	    "expiring within an hour\n", cmd_ji(ob, "current"),
	    cmd_js(ob, "earliest_not_after"), cmd_ji(ob, "expiring"));
	printf("cas:          %lld\n", cmd_ji(j, "cas"));
	if (json_is_object(kp))
		printf("key pool:     %lld of %lld EE keys ready\n",
		    cmd_ji(kp, "level"), cmd_ji(kp, "capacity"));
	print_problems(j);
}

static void
print_ca_status(json_t *j)
{
	const char	*k;
	json_t		*v;

	printf("handle:       %s\n", cmd_js(j, "handle"));
	if (json_is_integer(json_object_get(j, "last_serial")))
		printf("last serial:  %lld\n", cmd_ji(j, "last_serial"));
	else
		printf("last serial:  -\n");
	printf("pending:      %lld change(s), lag %lld s\n",
	    cmd_ji(j, "pending"), cmd_ji(j, "lag_seconds"));
	printf("next reissue: %s\nnot after:    %s (certificate), %s (earliest "
	    "object)\nobjects:     ", cmd_js(j, "next_reissue_at"),
	    cmd_js(j, "certificate_not_after"), cmd_js(j, "earliest_not_after"));
	json_object_foreach(json_object_get(j, "objects"), k, v)
		printf(" %s=%lld", k, (long long)json_integer_value(v));
	putchar('\n');
	print_problems(j);
}

/* status [HANDLE]: readiness; with a token the repository or CA status. */
int
c_status(struct opts *o)
{
	json_t	*j;
	char	 p[1200];
	int	 rc, json = o->json;

	if (o->token == NULL && o->npos > 0) {
		fprintf(stderr, "cairn: status HANDLE needs a token\n");
		return EX_USAGE;
	}
	o->json = json && o->token == NULL;
	rc = cmd_call(o, "GET", "/api/v1/ready", NULL, &j);
	o->json = json;
	if (rc != EX_OK)
		return rc;
	if (!o->json)
		printf("server %s: %s, schema version %lld\n", o->url,
		    cmd_js(j, "status"), cmd_ji(j, "schema"));
	json_decref(j);
	if (o->token == NULL)
		return EX_OK;
	if (o->npos > 0)
		cmd_path(p, sizeof(p), "/api/v1/cas/%s/status", o->pos[0]);
	else
		snprintf(p, sizeof(p), "/api/v1/status");
	if ((rc = cmd_call(o, "GET", p, NULL, &j)) != EX_OK)
		return rc;
	if (!o->json && o->npos > 0)
		print_ca_status(j);
	else if (!o->json)
		print_repo_status(j);
	rc = json_array_size(json_object_get(j, "problems")) > 0 ?
	    EX_PROBLEMS : EX_OK;
	json_decref(j);
	return rc;
}

static void
print_history(const struct opts *o, json_t *j)
{
	json_t	*e;
	size_t	 i;

	printf("%-8s %-20s %-16s %-16s %-16s %s\n", "ID", "AT", "CA",
	    "ACTOR", "ACTION", "OBJECT");
	json_array_foreach(json_object_get(j, "history"), i, e)
		printf("%-8lld %-20s %-16s %-16s %-16s %s\n",
		    cmd_ji(e, "id"), cmd_js(e, "at"), cmd_js(e, "ca"),
		    cmd_js(e, "actor"), cmd_js(e, "action"), cmd_js(e, "object"));
	if (json_is_integer(json_object_get(j, "next")))
		printf("(more: --before %lld)\n", cmd_ji(j, "next"));
}

/* history [HANDLE]: the audit log across the CAs the token sees. */
int
c_history(struct opts *o)
{
	struct cm_buf	 q = CM_BUF_INIT;
	char		 sep = '?';
	int		 rc;

	cm_buf_puts(&q, "/api/v1/history");
	cmd_query(&q, &sep, "ca", o->npos > 0 ? o->pos[0] : o->ca);
	cmd_query(&q, &sep, "actor", o->actor);
	cmd_query(&q, &sep, "since", o->since);
	cmd_query(&q, &sep, "until", o->until);
	cmd_query(&q, &sep, "limit", o->limit);
	cmd_query(&q, &sep, "before", o->before);
	rc = cmd_run(o, "GET", cm_buf_cstr(&q), NULL, print_history);
	cm_buf_free(&q);
	return rc;
}

static void
print_tokens(const struct opts *o, json_t *j)
{
	json_t	*t;
	size_t	 i;
	char	 scope[300];

	printf("%-24s %-24s %-20s %s\n", "NAME", "SCOPE", "CREATED",
	    "REVOKED");
	json_array_foreach(json_object_get(j, "tokens"), i, t) {
		if (json_is_string(json_object_get(t, "ca")))
			snprintf(scope, sizeof(scope), "ca:%s", cmd_js(t, "ca"));
		else
			snprintf(scope, sizeof(scope), "admin");
		printf("%-24s %-24s %-20s %s\n", cmd_js(t, "name"), scope,
		    cmd_js(t, "created_at"), cmd_js(t, "revoked_at"));
	}
}

int
c_token_list(struct opts *o)
{
	return cmd_run(o, "GET", "/api/v1/tokens", NULL, print_tokens);
}

static void
print_token_created(const struct opts *o, json_t *j)
{
	if (json_is_string(json_object_get(j, "token")))
		printf("token %s (%s%s); it is shown once, only its hash is "
		    "stored:\n%s\n", o->pos[0], o->admin ? "admin" : "ca:",
		    o->admin ? "" : o->ca, cmd_js(j, "token"));
	else
		printf("token %s was created by an earlier request with this "
		    "idempotency key; its secret was shown then\n", o->pos[0]);
}

int
c_token_create(struct opts *o)
{
	if ((o->ca != NULL) == o->admin) {
		fprintf(stderr, "cairn: token create needs --ca HANDLE (a member "
		    "token) or --admin\n");
		return EX_USAGE;
	}
	return cmd_run(o, "POST", "/api/v1/tokens", o->admin ?
	    json_pack("{s:s, s:b}", "name", o->pos[0], "admin", 1) :
	    json_pack("{s:s, s:s}", "name", o->pos[0], "ca", o->ca),
	    print_token_created);
}

static void
print_token_revoked(const struct opts *o, json_t *j)
{
	printf("revoked token %s\n", o->pos[0]);
}

int
c_token_revoke(struct opts *o)
{
	char	p[1200];

	cmd_path(p, sizeof(p), "/api/v1/tokens/%s", o->pos[0]);
	return cmd_run(o, "DELETE", p, NULL, print_token_revoked);
}
