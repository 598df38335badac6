/*
 * cairn CLI: talking to the server and the small helpers every command
 * group uses (cairn_cmd.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "api/api_client.h"
#include "api/cairn_cmd.h"
#include "common/cm_buf.h"
#include "common/cm_err.h"
#include "common/cm_file.h"

void
cmd_http_opts(const struct opts *o, int timeout_ms, struct api_http_opts *ho)
{
	memset(ho, 0, sizeof(*ho));
	ho->token = o->token;
	ho->cafile = o->cacert;
	ho->timeout_ms = timeout_ms;
}

/* The server's error reply, or its status, on stderr. */
static void
print_error(const struct opts *o, const struct api_http_resp *r, json_t *j)
{
	json_t	*e = json_object_get(j, "error");
	json_t	*f = json_object_get(e, "field");

	if (o->json && r->len > 0)
		fputs(r->body, stderr);
	else if (e != NULL)
		fprintf(stderr, "cairn: %d %s: %s%s%s%s\n", r->status,
		    json_string_value(json_object_get(e, "code")),
		    json_string_value(json_object_get(e, "message")),
		    f != NULL ? " (field " : "",
		    f != NULL ? json_string_value(f) : "",
		    f != NULL ? ")" : "");
	else
		fprintf(stderr, "cairn: HTTP %d\n", r->status);
}

int
cmd_call(struct opts *o, const char *method, const char *path, json_t *body,
    json_t **out)
{
	char	*b = NULL;
	int	 rc;

	*out = NULL;
	if (body != NULL && (b = json_dumps(body, JSON_COMPACT)) == NULL) {
		fprintf(stderr, "cairn: out of memory\n");
		return EX_UNREACHABLE;
	}
	rc = cmd_call_raw(o, method, path, b, out);
	free(b);
	return rc;
}

int
cmd_call_raw(struct opts *o, const char *method, const char *path,
    const char *body, json_t **out)
{
	struct api_http_opts	 ho;
	struct api_http_resp	 r;
	struct cm_err		 err;
	json_t			*j;
	int			 rc;

	*out = NULL;
	cmd_http_opts(o, 30000, &ho);
	ho.idem_key = strcmp(method, "POST") == 0 ? o->idem : NULL;
	if (api_http_do(o->url, method, path, body, &ho, &r, &err) == -1) {
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
	print_error(o, &r, j);
	json_decref(j);
	rc = r.status >= 500 ? EX_UNREACHABLE : EX_REFUSED;
	api_http_resp_free(&r);
	return rc;
}

int
cmd_run(struct opts *o, const char *method, const char *path, json_t *body,
    cmd_print_fn print)
{
	json_t	*j;
	int	 rc;

	if ((rc = cmd_call(o, method, path, body, &j)) == EX_OK && !o->json)
		print(o, j);
	json_decref(body);
	json_decref(j);
	return rc;
}

void
cmd_path(char *out, size_t len, const char *fmt, const char *arg)
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

void
cmd_query(struct cm_buf *q, char *sep, const char *name, const char *value)
{
	char	v[600];

	if (value == NULL)
		return;
	cmd_path(v, sizeof(v), "%s", value);
	cm_buf_printf(q, "%c%s=%s", *sep, name, v);
	*sep = '&';
}

const char *
cmd_js(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : "-";
}

const char *
cmd_dash(const char *s)
{
	return s != NULL && *s != '\0' ? s : "-";
}

long long
cmd_ji(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

json_t *
cmd_res_body(const struct opts *o)
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

void
cmd_print_res(json_t *r)
{
	printf("asn:       %s\nipv4:      %s\nipv6:      %s\n",
	    cmd_dash(json_string_value(json_object_get(r, "asn"))),
	    cmd_dash(json_string_value(json_object_get(r, "ipv4"))),
	    cmd_dash(json_string_value(json_object_get(r, "ipv6"))));
}

int
cmd_parse_asn(const char *s, json_int_t *out)
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

int
cmd_parse_asn_list(const char *s, json_t **out)
{
	json_t		*arr;
	json_int_t	 asn;
	char		*list, *t, *save = NULL;
	int		 rc = EX_OK;

	*out = NULL;
	if ((list = strdup(s)) == NULL) {
		fprintf(stderr, "cairn: out of memory\n");
		return EX_UNREACHABLE;
	}
	arr = json_array();
	for (t = strtok_r(list, ",", &save); t != NULL;
	    t = strtok_r(NULL, ",", &save)) {
		if (cmd_parse_asn(t, &asn) == -1) {
			fprintf(stderr, "cairn: %s: not an AS number\n", t);
			rc = EX_USAGE;
			break;
		}
		json_array_append_new(arr, json_integer(asn));
	}
	free(list);
	if (rc != EX_OK) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return EX_OK;
}

int
cmd_read_text(const char *path, const char *key, json_t **out)
{
	struct cm_err	 err;
	uint8_t		*buf = NULL;
	size_t		 len;

	*out = NULL;
	if (cm_file_read(path, 1024 * 1024, &buf, &len, &err) == -1) {
		fprintf(stderr, "cairn: %s\n", err.msg);
		return EX_USAGE;
	}
	*out = json_pack("{s:s%}", key, (const char *)buf, len);
	free(buf);
	if (*out == NULL) {
		fprintf(stderr, "cairn: %s: not UTF-8 text\n", path);
		return EX_USAGE;
	}
	return EX_OK;
}
