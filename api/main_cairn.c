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
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "api/api_client.h"
#include "api/api_import.h"
#include "common/cm_buf.h"
#include "common/cm_conf.h"
#include "common/cm_enc.h"
#include "common/cm_file.h"

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
	const char	*pos[8];
	int		 npos;
};

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

/* ---- talking to the server ---- */

static int
call(struct opts *o, const char *method, const char *path, json_t *body,
    json_t **out)
{
	struct api_http_opts	 ho;
	struct api_http_resp	 r;
	struct cm_err		 err;
	char			*b = NULL;
	json_t			*j, *e;
	int			 rc;

	*out = NULL;
	if (body != NULL && (b = json_dumps(body, JSON_COMPACT)) == NULL) {
		fprintf(stderr, "cairn: out of memory\n");
		return EX_UNREACHABLE;
	}
	ho.token = o->token;
	ho.idem_key = strcmp(method, "POST") == 0 ? o->idem : NULL;
	ho.cafile = o->cacert;
	ho.timeout_ms = 30000;
	rc = api_http_do(o->url, method, path, b, &ho, &r, &err);
	free(b);
	if (rc == -1) {
		fprintf(stderr, "cairn: %s: %s\n", o->url, err.msg);
		return err.code == CM_EINVAL ? EX_USAGE : EX_UNREACHABLE;
	}
	j = r.len > 0 ? json_loads(r.body, 0, NULL) : NULL;
	if (r.status >= 200 && r.status < 300) {
		if (o->json && r.len > 0)
			fputs(r.body, stdout);
		*out = j != NULL ? j : json_object();
		api_http_resp_free(&r);
		return EX_OK;
	}
	e = json_object_get(j, "error");
	if (o->json && r.len > 0)
		fputs(r.body, stderr);
	else if (e != NULL)
		fprintf(stderr, "cairn: %d %s: %s%s%s%s\n", r.status,
		    json_string_value(json_object_get(e, "code")),
		    json_string_value(json_object_get(e, "message")),
		    json_object_get(e, "field") != NULL ? " (field " : "",
		    json_object_get(e, "field") != NULL ? json_string_value(
		    json_object_get(e, "field")) : "",
		    json_object_get(e, "field") != NULL ? ")" : "");
	else
		fprintf(stderr, "cairn: HTTP %d\n", r.status);
	json_decref(j);
	rc = r.status >= 500 ? EX_UNREACHABLE : EX_REFUSED;
	api_http_resp_free(&r);
	return rc;
}

/* path with "%s" holding the percent-encoded arg. */
static void
mkpath(char *out, size_t len, const char *fmt, const char *arg)
{
	char	enc[1024];
	size_t	i, n = 0;

	for (i = 0; arg[i] != '\0' && n + 4 < sizeof(enc); i++) {
		unsigned char ch = (unsigned char)arg[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("-._~", ch) != NULL)
			enc[n++] = (char)ch;
		else
			n += (size_t)snprintf(enc + n, 4, "%%%02X", ch);
	}
	enc[n] = '\0';
	snprintf(out, len, fmt, enc);
}

static const char *
js(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : "-";
}

static const char *
dash(const char *s)
{
	return s != NULL && *s != '\0' ? s : "-";
}

static json_t *
res_body(struct opts *o)
{
	json_t *r = json_object();

	if (o->asn != NULL)
		json_object_set_new(r, "asn", json_string(o->asn));
	if (o->ipv4 != NULL)
		json_object_set_new(r, "ipv4", json_string(o->ipv4));
	if (o->ipv6 != NULL)
		json_object_set_new(r, "ipv6", json_string(o->ipv6));
	return r;
}

/* ---- commands ---- */

static void
print_ca(json_t *c)
{
	json_t	*r = json_object_get(c, "resources"), *v;
	size_t	 i;

	printf("handle:    %s\nkind:      %s\nparent:    %s\n", js(c, "handle"),
	    js(c, "kind"), js(c, "parent"));
	printf("asn:       %s\nipv4:      %s\nipv6:      %s\n",
	    dash(json_string_value(json_object_get(r, "asn"))),
	    dash(json_string_value(json_object_get(r, "ipv4"))),
	    dash(json_string_value(json_object_get(r, "ipv6"))));
	printf("created:   %s\nroas:      %lld\naspas:     %lld\n",
	    js(c, "created_at"), (long long)json_integer_value(json_object_get(c,
	    "roas")), (long long)json_integer_value(json_object_get(c,
	    "aspas")));
	json_array_foreach(json_object_get(c, "keys"), i, v)
		printf("key:       %s %s\n", js(v, "id"), js(v, "state"));
	json_array_foreach(json_object_get(c, "children"), i, v)
		printf("child:     %s\n", json_string_value(v));
}

static int
c_ca_list(struct opts *o)
{
	struct cm_buf	 q = CM_BUF_INIT;
	json_t		*j, *c;
	size_t		 i;
	int		 rc;

	cm_buf_puts(&q, "/api/v1/cas");
	if (o->limit != NULL)
		cm_buf_printf(&q, "?limit=%s", o->limit);
	if (o->after != NULL) {
		char p[600];

		mkpath(p, sizeof(p), "%s", o->after);
		cm_buf_printf(&q, "%cafter=%s", o->limit != NULL ? '&' : '?', p);
	}
	rc = call(o, "GET", cm_buf_cstr(&q), NULL, &j);
	cm_buf_free(&q);
	if (rc != EX_OK || o->json) {
		json_decref(j);
		return rc;
	}
	printf("%-20s %-7s %-20s %s\n", "HANDLE", "KIND", "PARENT", "RESOURCES");
	json_array_foreach(json_object_get(j, "cas"), i, c) {
		json_t *r = json_object_get(c, "resources");

		printf("%-20s %-7s %-20s as=%s v4=%s v6=%s\n", js(c, "handle"),
		    js(c, "kind"), js(c, "parent"),
		    dash(json_string_value(json_object_get(r, "asn"))),
		    dash(json_string_value(json_object_get(r, "ipv4"))),
		    dash(json_string_value(json_object_get(r, "ipv6"))));
	}
	if (json_is_string(json_object_get(j, "next")))
		printf("(more: --after %s)\n", js(j, "next"));
	json_decref(j);
	return EX_OK;
}

static int
c_ca_show(struct opts *o)
{
	json_t	*j;
	char	 p[1200];
	int	 rc;

	mkpath(p, sizeof(p), "/api/v1/cas/%s", o->pos[0]);
	if ((rc = call(o, "GET", p, NULL, &j)) == EX_OK && !o->json)
		print_ca(j);
	json_decref(j);
	return rc;
}

static int
c_ca_create(struct opts *o)
{
	json_t	*b, *j;
	int	 rc;

	if (o->parent == NULL) {
		fprintf(stderr, "cairn: ca create needs --parent\n");
		return usage_of(&cmds[2], stderr);
	}
	b = json_pack("{s:s, s:s, s:o}", "handle", o->pos[0], "parent",
	    o->parent, "resources", res_body(o));
	if ((rc = call(o, "POST", "/api/v1/cas", b, &j)) == EX_OK && !o->json)
		print_ca(j);
	json_decref(b);
	json_decref(j);
	return rc;
}

static int
c_ca_resources(struct opts *o)
{
	json_t	*b = res_body(o), *j;
	char	 p[1200];
	int	 rc;

	mkpath(p, sizeof(p), "/api/v1/cas/%s/resources", o->pos[0]);
	if ((rc = call(o, "PUT", p, b, &j)) == EX_OK && !o->json)
		print_ca(j);
	json_decref(b);
	json_decref(j);
	return rc;
}

static void
print_roas(json_t *j)
{
	json_t	*r;
	size_t	 i;

	printf("%-12s %-44s %s\n", "ASN", "PREFIX", "MAX-LENGTH");
	json_array_foreach(json_object_get(j, "roas"), i, r)
		printf("AS%-10lld %-44s %lld\n", (long long)json_integer_value(
		    json_object_get(r, "asn")), js(r, "prefix"),
		    (long long)json_integer_value(json_object_get(r,
		    "max_length")));
}

static int
c_roa_list(struct opts *o)
{
	json_t	*j;
	char	 p[1200];
	int	 rc;

	mkpath(p, sizeof(p), "/api/v1/cas/%s/roas", o->pos[0]);
	if ((rc = call(o, "GET", p, NULL, &j)) == EX_OK && !o->json)
		print_roas(j);
	json_decref(j);
	return rc;
}

static int
parse_asn(const char *s, json_int_t *out)
{
	char		*end;
	unsigned long long v;

	if (strncasecmp(s, "AS", 2) == 0)
		s += 2;
	if (*s < '0' || *s > '9')
		return -1;
	v = strtoull(s, &end, 10);
	if (*end != '\0' || v > 4294967295ULL)
		return -1;
	*out = (json_int_t)v;
	return 0;
}

/* roa add|remove HANDLE ASN PREFIX [--max-length N] */
static int
roa_change(struct opts *o, const char *op)
{
	json_t		*b, *e, *j;
	json_int_t	 asn;
	char		 p[1200], *end;
	long		 ml;
	int		 rc;

	if (parse_asn(o->pos[1], &asn) == -1) {
		fprintf(stderr, "cairn: %s: not an AS number\n", o->pos[1]);
		return EX_USAGE;
	}
	e = json_pack("{s:I, s:s}", "asn", asn, "prefix", o->pos[2]);
	if (o->max_length != NULL) {
		ml = strtol(o->max_length, &end, 10);
		if (*o->max_length == '\0' || *end != '\0' || ml < 0 ||
		    ml > 128) {
			json_decref(e);
			fprintf(stderr, "cairn: --max-length: not a length\n");
			return EX_USAGE;
		}
		json_object_set_new(e, "max_length", json_integer(ml));
	}
	b = json_pack("{s:[o]}", op, e);
	mkpath(p, sizeof(p), "/api/v1/cas/%s/roas", o->pos[0]);
	if ((rc = call(o, "POST", p, b, &j)) == EX_OK && !o->json)
		print_roas(j);
	json_decref(b);
	json_decref(j);
	return rc;
}

static int
c_roa_add(struct opts *o)
{
	return roa_change(o, "add");
}

static int
c_roa_remove(struct opts *o)
{
	return roa_change(o, "remove");
}

static void
print_aspa(json_t *a)
{
	json_t	*v;
	size_t	 i;

	printf("AS%-10lld", (long long)json_integer_value(json_object_get(a,
	    "customer")));
	json_array_foreach(json_object_get(a, "providers"), i, v)
		printf("%sAS%lld", i == 0 ? " " : ",",
		    (long long)json_integer_value(v));
	putchar('\n');
}

static int
c_aspa_list(struct opts *o)
{
	json_t	*j, *a;
	size_t	 i;
	char	 p[1200];
	int	 rc;

	mkpath(p, sizeof(p), "/api/v1/cas/%s/aspas", o->pos[0]);
	if ((rc = call(o, "GET", p, NULL, &j)) == EX_OK && !o->json) {
		printf("%-12s %s\n", "CUSTOMER", "PROVIDERS");
		json_array_foreach(json_object_get(j, "aspas"), i, a)
			print_aspa(a);
	}
	json_decref(j);
	return rc;
}

static int
aspa_path(struct opts *o, char *p, size_t len)
{
	json_int_t	asn;
	char		h[1200];

	if (parse_asn(o->pos[1], &asn) == -1) {
		fprintf(stderr, "cairn: %s: not an AS number\n", o->pos[1]);
		return EX_USAGE;
	}
	mkpath(h, sizeof(h), "%s", o->pos[0]);
	snprintf(p, len, "/api/v1/cas/%s/aspas/%lld", h, (long long)asn);
	return EX_OK;
}

static int
c_aspa_set(struct opts *o)
{
	json_t		*b, *arr, *j;
	json_int_t	 asn;
	char		 p[1300], *list, *t, *save = NULL;
	int		 rc;

	if ((rc = aspa_path(o, p, sizeof(p))) != EX_OK)
		return rc;
	arr = json_array();
	list = strdup(o->pos[2]);
	for (t = strtok_r(list, ",", &save); t != NULL;
	    t = strtok_r(NULL, ",", &save)) {
		if (parse_asn(t, &asn) == -1) {
			fprintf(stderr, "cairn: %s: not an AS number\n", t);
			free(list);
			json_decref(arr);
			return EX_USAGE;
		}
		json_array_append_new(arr, json_integer(asn));
	}
	free(list);
	b = json_pack("{s:o}", "providers", arr);
	if ((rc = call(o, "PUT", p, b, &j)) == EX_OK && !o->json)
		print_aspa(j);
	json_decref(b);
	json_decref(j);
	return rc;
}

static int
c_aspa_remove(struct opts *o)
{
	json_t	*j;
	char	 p[1300];
	int	 rc;

	if ((rc = aspa_path(o, p, sizeof(p))) != EX_OK)
		return rc;
	if ((rc = call(o, "DELETE", p, NULL, &j)) == EX_OK && !o->json)
		printf("removed the ASPA of %s\n", o->pos[1]);
	json_decref(j);
	return rc;
}

/* router-cert add HANDLE CSR-FILE ASN[,ASN...] */
static int
c_router_add(struct opts *o)
{
	struct cm_err	 err;
	struct cm_buf	 b64 = CM_BUF_INIT;
	uint8_t		*buf = NULL, *der = NULL;
	size_t		 len;
	X509_REQ	*req = NULL;
	BIO		*bio;
	json_t		*b, *arr, *j = NULL;
	json_int_t	 asn;
	char		 p[1200], *list, *t, *save = NULL;
	int		 n, rc = EX_USAGE;

	arr = json_array();
	list = strdup(o->pos[2]);
	for (t = strtok_r(list, ",", &save); t != NULL;
	    t = strtok_r(NULL, ",", &save)) {
		if (parse_asn(t, &asn) == -1) {
			fprintf(stderr, "cairn: %s: not an AS number\n", t);
			goto out;
		}
		json_array_append_new(arr, json_integer(asn));
	}
	if (cm_file_read(o->pos[1], 1024 * 1024, &buf, &len, &err) == -1) {
		fprintf(stderr, "cairn: %s\n", err.msg);
		goto out;
	}
	if (len > 10 && memcmp(buf, "-----BEGIN", 10) == 0) {
		bio = BIO_new_mem_buf(buf, (int)len);
		req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
		BIO_free(bio);
		if (req == NULL || (n = i2d_X509_REQ(req, &der)) <= 0) {
			fprintf(stderr, "cairn: %s: not a PEM certificate "
			    "request\n", o->pos[1]);
			goto out;
		}
		cm_b64_encode(der, (size_t)n, &b64);
	} else
		cm_b64_encode(buf, len, &b64);
	b = json_pack("{s:s, s:O}", "csr", cm_buf_cstr(&b64), "asns", arr);
	mkpath(p, sizeof(p), "/api/v1/cas/%s/routers", o->pos[0]);
	if ((rc = call(o, "POST", p, b, &j)) == EX_OK && !o->json)
		printf("router key certified by %s\n", o->pos[0]);
	json_decref(b);
out:
	free(list);
	json_decref(arr);
	json_decref(j);
	free(buf);
	OPENSSL_free(der);
	X509_REQ_free(req);
	cm_buf_free(&b64);
	return rc;
}

static int
keyroll(struct opts *o, const char *step)
{
	json_t	*b, *j;
	char	 p[1200];
	int	 rc;

	b = json_pack("{s:s, s:b}", "step", step, "force", o->force);
	mkpath(p, sizeof(p), "/api/v1/cas/%s/keyroll", o->pos[0]);
	if ((rc = call(o, "POST", p, b, &j)) == EX_OK && !o->json)
		print_ca(j);
	json_decref(b);
	json_decref(j);
	return rc;
}

static int
c_kr_start(struct opts *o)
{
	return keyroll(o, "start");
}

static int
c_kr_activate(struct opts *o)
{
	return keyroll(o, "activate");
}

static int
c_kr_finish(struct opts *o)
{
	return keyroll(o, "finish");
}

static int
c_transfer(struct opts *o)
{
	json_t	*b, *j;
	int	 rc;

	b = json_pack("{s:s, s:s, s:o}", "from", o->pos[0], "to", o->pos[1],
	    "resources", res_body(o));
	if ((rc = call(o, "POST", "/api/v1/transfers", b, &j)) == EX_OK &&
	    !o->json)
		printf("transferred from %s to %s\n", o->pos[0], o->pos[1]);
	json_decref(b);
	json_decref(j);
	return rc;
}

/* ---- administration: status, history, CA deletion, tokens ---- */

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
		printf("problem:      %s: %s\n", js(p, "code"), js(p, "message"));
}

static long long
ji(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
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
		    js(r, "session"), ji(r, "serial"), js(r, "published_at"),
		    ji(r, "age_seconds"));
	else
		printf("rrdp:         no serial yet\n");
	printf("publication:  %lld pending, lag %lld s, %lld held batch(es)\n",
	    ji(p, "pending"), ji(p, "lag_seconds"), ji(p, "held_batches"));
	printf("re-issue:     next %s, %lld overdue\n", js(ri, "next_at"),
	    ji(ri, "overdue"));
	printf("objects:      %lld current, earliest notAfter %s, %lld "
	    "expiring within an hour\n", ji(ob, "current"),
	    js(ob, "earliest_not_after"), ji(ob, "expiring"));
	printf("cas:          %lld\n", ji(j, "cas"));
	if (json_is_object(kp))
		printf("key pool:     %lld of %lld EE keys ready\n",
		    ji(kp, "level"), ji(kp, "capacity"));
	print_problems(j);
}

static void
print_ca_status(json_t *j)
{
	const char	*k;
	json_t		*v;

	printf("handle:       %s\n", js(j, "handle"));
	if (json_is_integer(json_object_get(j, "last_serial")))
		printf("last serial:  %lld\n", ji(j, "last_serial"));
	else
		printf("last serial:  -\n");
	printf("pending:      %lld change(s), lag %lld s\n", ji(j, "pending"),
	    ji(j, "lag_seconds"));
	printf("next reissue: %s\nnot after:    %s (certificate), %s (earliest "
	    "object)\nobjects:     ", js(j, "next_reissue_at"),
	    js(j, "certificate_not_after"), js(j, "earliest_not_after"));
	json_object_foreach(json_object_get(j, "objects"), k, v)
		printf(" %s=%lld", k, (long long)json_integer_value(v));
	putchar('\n');
	print_problems(j);
}

/* status [HANDLE]: readiness; with a token the repository or CA status. */
static int
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
	rc = call(o, "GET", "/api/v1/ready", NULL, &j);
	o->json = json;
	if (rc != EX_OK)
		return rc;
	if (!o->json)
		printf("server %s: %s, schema version %lld\n", o->url,
		    js(j, "status"), ji(j, "schema"));
	json_decref(j);
	if (o->token == NULL)
		return EX_OK;
	if (o->npos > 0)
		mkpath(p, sizeof(p), "/api/v1/cas/%s/status", o->pos[0]);
	else
		snprintf(p, sizeof(p), "/api/v1/status");
	if ((rc = call(o, "GET", p, NULL, &j)) != EX_OK)
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

/* history [HANDLE]: the audit log across the CAs the token sees. */
static int
c_history(struct opts *o)
{
	struct cm_buf	 q = CM_BUF_INIT;
	json_t		*j, *e;
	size_t		 i;
	char		 v[600];
	char		 sep = '?';
	int		 rc;

	cm_buf_puts(&q, "/api/v1/history");
#define QP(name, val) \
	if ((val) != NULL) { \
		mkpath(v, sizeof(v), "%s", (val)); \
		cm_buf_printf(&q, "%c" name "=%s", sep, v); \
		sep = '&'; \
	}
	QP("ca", o->npos > 0 ? o->pos[0] : o->ca);
	QP("actor", o->actor);
	QP("since", o->since);
	QP("until", o->until);
	QP("limit", o->limit);
	QP("before", o->before);
#undef QP
	rc = call(o, "GET", cm_buf_cstr(&q), NULL, &j);
	cm_buf_free(&q);
	if (rc == EX_OK && !o->json) {
		printf("%-8s %-20s %-16s %-16s %-16s %s\n", "ID", "AT", "CA",
		    "ACTOR", "ACTION", "OBJECT");
		json_array_foreach(json_object_get(j, "history"), i, e)
			printf("%-8lld %-20s %-16s %-16s %-16s %s\n",
			    ji(e, "id"), js(e, "at"), js(e, "ca"),
			    js(e, "actor"), js(e, "action"), js(e, "object"));
		if (json_is_integer(json_object_get(j, "next")))
			printf("(more: --before %lld)\n", ji(j, "next"));
	}
	json_decref(j);
	return rc;
}

static int
c_ca_delete(struct opts *o)
{
	json_t	*j;
	char	 p[1200];
	int	 rc;

	mkpath(p, sizeof(p), "/api/v1/cas/%s", o->pos[0]);
	if ((rc = call(o, "DELETE", p, NULL, &j)) == EX_OK && !o->json)
		printf("deleted CA %s: its objects are withdrawn, its "
		    "certificate revoked (%lld token(s) revoked)\n", o->pos[0],
		    ji(j, "tokens_revoked"));
	json_decref(j);
	return rc;
}

static int
c_token_list(struct opts *o)
{
	json_t	*j, *t;
	size_t	 i;
	int	 rc;

	if ((rc = call(o, "GET", "/api/v1/tokens", NULL, &j)) == EX_OK &&
	    !o->json) {
		printf("%-24s %-24s %-20s %s\n", "NAME", "SCOPE", "CREATED",
		    "REVOKED");
		json_array_foreach(json_object_get(j, "tokens"), i, t) {
			char scope[300];

			if (json_is_string(json_object_get(t, "ca")))
				snprintf(scope, sizeof(scope), "ca:%s",
				    js(t, "ca"));
			else
				snprintf(scope, sizeof(scope), "admin");
			printf("%-24s %-24s %-20s %s\n", js(t, "name"), scope,
			    js(t, "created_at"), js(t, "revoked_at"));
		}
	}
	json_decref(j);
	return rc;
}

static int
c_token_create(struct opts *o)
{
	json_t	*b, *j;
	int	 rc;

	if ((o->ca != NULL) == o->admin) {
		fprintf(stderr, "cairn: token create needs --ca HANDLE (a member "
		    "token) or --admin\n");
		return EX_USAGE;
	}
	b = o->admin ? json_pack("{s:s, s:b}", "name", o->pos[0], "admin", 1) :
	    json_pack("{s:s, s:s}", "name", o->pos[0], "ca", o->ca);
	if ((rc = call(o, "POST", "/api/v1/tokens", b, &j)) == EX_OK &&
	    !o->json) {
		if (json_is_string(json_object_get(j, "token")))
			printf("token %s (%s%s); it is shown once, only its "
			    "hash is stored:\n%s\n", o->pos[0], o->admin ?
			    "admin" : "ca:", o->admin ? "" : o->ca,
			    js(j, "token"));
		else
			printf("token %s was created by an earlier request with "
			    "this idempotency key; its secret was shown then\n",
			    o->pos[0]);
	}
	json_decref(b);
	json_decref(j);
	return rc;
}

static int
c_token_revoke(struct opts *o)
{
	json_t	*j;
	char	 p[1200];
	int	 rc;

	mkpath(p, sizeof(p), "/api/v1/tokens/%s", o->pos[0]);
	if ((rc = call(o, "DELETE", p, NULL, &j)) == EX_OK && !o->json)
		printf("revoked token %s\n", o->pos[0]);
	json_decref(j);
	return rc;
}

/* router-cert list HANDLE, router-cert remove HANDLE KEY */
static int
c_router_list(struct opts *o)
{
	json_t	*j, *r;
	size_t	 i;
	char	 p[1200];
	int	 rc;

	mkpath(p, sizeof(p), "/api/v1/cas/%s/routers", o->pos[0]);
	if ((rc = call(o, "GET", p, NULL, &j)) == EX_OK && !o->json) {
		printf("%-40s %-20s %s\n", "KEY", "NOT-AFTER", "ASNS");
		json_array_foreach(json_object_get(j, "routers"), i, r)
			printf("%-40s %-20s %s\n", js(r, "key"),
			    js(r, "not_after"), js(r, "asns"));
	}
	json_decref(j);
	return rc;
}

static int
c_router_remove(struct opts *o)
{
	json_t	*j;
	char	 p[1200], k[200];
	int	 rc;

	mkpath(k, sizeof(k), "%s", o->pos[1]);
	mkpath(p, sizeof(p), "/api/v1/cas/%s/routers/", o->pos[0]);
	strncat(p, k, sizeof(p) - strlen(p) - 1);
	if ((rc = call(o, "DELETE", p, NULL, &j)) == EX_OK && !o->json)
		printf("removed the router certificate of key %s\n", o->pos[1]);
	json_decref(j);
	return rc;
}

/* ---- RFC 8181 publishers ---- */

static void
print_pub(json_t *p)
{
	printf("handle:       %s\nkind:         %s\nsia base:     %s\n"
	    "objects:      %lld\ncreated:      %s\n", js(p, "handle"),
	    js(p, "kind"), js(p, "sia_base"), ji(p, "objects"),
	    js(p, "created_at"));
	if (json_is_string(json_object_get(p, "service_uri")))
		printf("service uri:  %s\n", js(p, "service_uri"));
	if (json_is_string(json_object_get(p, "repository_response")))
		printf("repository_response:\n%s", js(p,
		    "repository_response"));
}

static int
c_pub_list(struct opts *o)
{
	struct cm_buf	 q = CM_BUF_INIT;
	json_t		*j, *p;
	size_t		 i;
	char		 v[600], sep = '?';
	int		 rc;

	cm_buf_puts(&q, "/api/v1/publishers");
#define QP(name, val) \
	if ((val) != NULL) { \
		mkpath(v, sizeof(v), "%s", (val)); \
		cm_buf_printf(&q, "%c" name "=%s", sep, v); \
		sep = '&'; \
	}
	QP("kind", o->kind);
	QP("limit", o->limit);
	QP("after", o->after);
#undef QP
	rc = call(o, "GET", cm_buf_cstr(&q), NULL, &j);
	cm_buf_free(&q);
	if (rc == EX_OK && !o->json) {
		printf("%-24s %-7s %-8s %s\n", "HANDLE", "KIND", "OBJECTS",
		    "SIA-BASE");
		json_array_foreach(json_object_get(j, "publishers"), i, p)
			printf("%-24s %-7s %-8lld %s\n", js(p, "handle"),
			    js(p, "kind"), ji(p, "objects"), js(p, "sia_base"));
		if (json_is_string(json_object_get(j, "next")))
			printf("(more: --after %s)\n", js(j, "next"));
	}
	json_decref(j);
	return rc;
}

/* publisher add FILE: prints the RFC 8183 repository_response. */
static int
c_pub_add(struct opts *o)
{
	struct cm_err	 err;
	uint8_t		*buf = NULL;
	size_t		 len;
	json_t		*b, *j = NULL;
	int		 rc;

	if (cm_file_read(o->pos[0], 1024 * 1024, &buf, &len, &err) == -1) {
		fprintf(stderr, "cairn: %s\n", err.msg);
		return EX_USAGE;
	}
	b = json_pack("{s:s%}", "publisher_request", (const char *)buf, len);
	free(buf);
	if (b == NULL) {
		fprintf(stderr, "cairn: %s: not UTF-8 text\n", o->pos[0]);
		return EX_USAGE;
	}
	if (o->handle != NULL)
		json_object_set_new(b, "handle", json_string(o->handle));
	if ((rc = call(o, "POST", "/api/v1/publishers", b, &j)) == EX_OK &&
	    !o->json) {
		fputs(js(j, "repository_response"), stdout);
		fprintf(stderr, "cairn: publisher %s added with base %s\n",
		    js(j, "handle"), js(j, "sia_base"));
	}
	json_decref(b);
	json_decref(j);
	return rc;
}

static int
c_pub_show(struct opts *o)
{
	json_t	*j;
	char	 p[1200];
	int	 rc;

	mkpath(p, sizeof(p), "/api/v1/publishers/%s", o->pos[0]);
	if ((rc = call(o, "GET", p, NULL, &j)) == EX_OK && !o->json)
		print_pub(j);
	json_decref(j);
	return rc;
}

static int
c_pub_remove(struct opts *o)
{
	json_t	*j;
	char	 p[1200];
	int	 rc;

	mkpath(p, sizeof(p), "/api/v1/publishers/%s", o->pos[0]);
	if ((rc = call(o, "DELETE", p, NULL, &j)) == EX_OK && !o->json)
		printf("removed publisher %s (%lld object(s) withdrawn)\n",
		    o->pos[0], ji(j, "withdrawn"));
	json_decref(j);
	return rc;
}

/* ---- import resources FILE ---- */

struct import_ui {
	int		 tty, json, dry_run;
	const char	*file;
	int		 last;		/* percent drawn */
	json_t		*errors;
};

static const char *what_name[] = { "created", "updated", "unchanged",
    "failed", "skipped" };

static void
import_cb(void *arg, const struct api_import_rec *r, enum api_import_what what,
    const char *msg, size_t done, size_t total)
{
	struct import_ui	*ui = arg;
	int			 pct = (int)(done * 100 / total), i;

	if (msg != NULL) {
		if (ui->json)
			json_array_append_new(ui->errors, json_pack("{s:i, s:s, "
			    "s:s, s:s}", "line", r->line, "handle", r->handle,
			    "result", what_name[what], "message", msg));
		else
			fprintf(stderr, "%scairn: %s: line %d: %s: %s: %s\n",
			    ui->tty ? "\r\033[K" : "", ui->file, r->line,
			    r->handle, what_name[what], msg);
		ui->last = -1;
	}
	if (!ui->tty || (pct == ui->last && done != total))
		return;
	ui->last = pct;
	fputs("\r[", stderr);
	for (i = 0; i < 40; i++)
		fputc(i < pct * 40 / 100 ? '#' : '.', stderr);
	fprintf(stderr, "] %zu/%zu %s", done, total, done == total ? "\n" :
	    "");
	fflush(stderr);
}

static int
c_import(struct opts *o)
{
	struct api_import	*im = NULL;
	struct api_import_stats	 st;
	struct api_http_opts	 ho;
	struct import_ui	 ui;
	struct cm_err		 err;
	uint8_t			*buf = NULL;
	size_t			 len;
	json_t			*sum;
	int			 rc, w;

	if (cm_file_read(o->pos[0], 256 * 1024 * 1024, &buf, &len, &err) ==
	    -1 || api_import_parse(o->pos[0], (const char *)buf, len, &im,
	    &err) == -1) {
		fprintf(stderr, "cairn: %s\n", err.msg);
		free(buf);
		return EX_USAGE;
	}
	free(buf);
	memset(&ui, 0, sizeof(ui));
	ui.tty = isatty(STDERR_FILENO) && !o->json;
	ui.json = o->json;
	ui.file = o->pos[0];
	ui.last = -1;
	ui.errors = json_array();
	memset(&ho, 0, sizeof(ho));
	ho.token = o->token;
	ho.cafile = o->cacert;
	ho.timeout_ms = 120000;
	rc = api_import_run(im, o->url, &ho, o->dry_run, import_cb, &ui, &st,
	    &err);
	if (rc == -1)
		fprintf(stderr, "%scairn: %s\n", ui.tty ? "\r\033[K" : "",
		    err.msg);
	if (o->json) {
		sum = json_pack("{s:b, s:I, s:o}", "dry_run", o->dry_run,
		    "members", (json_int_t)im->n, "errors", ui.errors);
		for (w = 0; w < 5; w++)
			json_object_set_new(sum, what_name[w],
			    json_integer((json_int_t)st.n[w]));
		json_dumpf(sum, stdout, JSON_COMPACT | JSON_SORT_KEYS);
		putchar('\n');
		json_decref(sum);
	} else {
		json_decref(ui.errors);
		printf("%s%s: %zu members: %zu created, %zu updated, %zu "
		    "unchanged, %zu failed, %zu skipped%s\n", o->dry_run ?
		    "dry run, nothing changed: " : "", o->pos[0], im->n,
		    st.n[API_IMPORT_CREATED], st.n[API_IMPORT_UPDATED],
		    st.n[API_IMPORT_UNCHANGED], st.n[API_IMPORT_FAILED],
		    st.n[API_IMPORT_SKIPPED], rc == -1 ? " (stopped: the "
		    "server is unreachable or failed)" : "");
	}
	api_import_free(im);
	return rc == -1 ? EX_UNREACHABLE : rc == 1 ? EX_REFUSED : EX_OK;
}

/* ---- trust anchors ---- */

static void
print_ta(json_t *t)
{
	json_t	*r = json_object_get(t, "resources"), *v;
	size_t	 i;

	printf("handle:    %s\nkind:      ta\n", js(t, "handle"));
	printf("asn:       %s\nipv4:      %s\nipv6:      %s\n",
	    dash(json_string_value(json_object_get(r, "asn"))),
	    dash(json_string_value(json_object_get(r, "ipv4"))),
	    dash(json_string_value(json_object_get(r, "ipv6"))));
	printf("created:   %s\nnot-after: %s\nkey:       %s\ncert:      %s\n",
	    js(t, "created_at"), js(t, "not_after"), js(t, "key_id"),
	    js(t, "cert_uri"));
	json_array_foreach(json_object_get(t, "tal_uris"), i, v)
		printf("tal-uri:   %s\n", json_string_value(v));
	json_array_foreach(json_object_get(t, "children"), i, v)
		printf("child:     %s\n", json_string_value(v));
}

static int
c_ta_create(struct opts *o)
{
	json_t	*b, *j;
	int	 rc;

	b = json_pack("{s:s, s:o}", "handle", o->pos[0], "resources",
	    res_body(o));
	if ((rc = call(o, "POST", "/api/v1/ta", b, &j)) == EX_OK && !o->json)
		print_ta(j);
	json_decref(b);
	json_decref(j);
	return rc;
}

/* Writes the base64 DER certificate of ta show to path. */
static int
write_cert(const char *path, json_t *t)
{
	struct cm_buf	 der = CM_BUF_INIT;
	struct cm_err	 err;
	const char	*b64 = json_string_value(json_object_get(t,
			    "certificate"));
	FILE		*f;
	int		 rc = EX_UNREACHABLE;

	if (b64 == NULL || cm_b64_decode(b64, strlen(b64), &der, &err) == -1 ||
	    der.len == 0) {
		fprintf(stderr, "cairn: the server sent no certificate\n");
		goto out;
	}
	if ((f = fopen(path, "wb")) == NULL ||
	    fwrite(der.data, 1, der.len, f) != der.len || fclose(f) != 0) {
		fprintf(stderr, "cairn: %s: cannot write the certificate\n",
		    path);
		rc = EX_REFUSED;
		goto out;
	}
	rc = EX_OK;
out:
	cm_buf_free(&der);
	return rc;
}

static int
c_ta_show(struct opts *o)
{
	json_t	*j;
	char	 p[1200];
	int	 rc;

	mkpath(p, sizeof(p), "/api/v1/ta/%s", o->pos[0]);
	if ((rc = call(o, "GET", p, NULL, &j)) == EX_OK) {
		if (o->cert != NULL)
			rc = write_cert(o->cert, j);
		if (rc == EX_OK && !o->json)
			print_ta(j);
	}
	json_decref(j);
	return rc;
}

static int
c_ta_tal(struct opts *o)
{
	json_t	*j;
	char	 p[1200];
	int	 rc;

	mkpath(p, sizeof(p), "/api/v1/ta/%s/tal", o->pos[0]);
	if ((rc = call(o, "GET", p, NULL, &j)) == EX_OK && !o->json)
		fputs(js(j, "tal"), stdout);
	json_decref(j);
	return rc;
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
	{ "ta", "tal", 1, 1, "HANDLE", c_ta_tal },
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
	{ NULL, NULL, 0, 0, NULL, NULL },
};

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
