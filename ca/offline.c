/*
 * ca_off: the request and response files of an offline parent (offline.h).
 * Parsing is strict, like every other object of ours: unknown keys, wrong
 * types, bad base64, duplicate URIs and out-of-range sizes are refused with
 * the field named.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "ca/mft.h"
#include "ca/offline.h"
#include "common/cm_buf.h"
#include "common/cm_enc.h"

#define TYPE_REQUEST	"cairn-offline-request"
#define TYPE_RESPONSE	"cairn-offline-response"

int
ca_off_handle_ok(const char *s)
{
	size_t n;

	if (s == NULL || *s == '\0')
		return 0;
	for (n = 0; s[n] != '\0'; n++) {
		char ch = s[n];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
		    ch == '/'))
			return 0;
	}
	return n <= CA_OFF_HANDLE_MAX;
}

void
ca_off_free(struct ca_off *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->nmsgs; i++)
		free(f->msgs[i].der);
	for (i = 0; i < f->nobjs; i++) {
		free(f->objs[i].uri);
		free(f->objs[i].der);
	}
	free(f->msgs);
	free(f->objs);
	free(f->parent);
	free(f->child);
	free(f);
}

/* ---- writing ---------------------------------------------------------- */

static json_t *
b64_json(const uint8_t *der, size_t len)
{
	struct cm_buf	 b = CM_BUF_INIT;
	json_t		*s = NULL;

	if (cm_b64_encode(der, len, &b) == 0)
		s = json_stringn(b.len > 0 ? (const char *)b.data : "", b.len);
	cm_buf_free(&b);
	return s;
}

int
ca_off_write(const struct ca_off *f, char **out, size_t *len,
    struct cm_err *err)
{
	json_t		*o = NULL, *msgs, *objs = NULL, *v;
	struct tm	 tm;
	time_t		 t = (time_t)f->created;
	char		 when[32];
	size_t		 i;
	int		 rc = -1;

	*out = NULL;
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return cm_err_set(err, CM_EINVAL, "offline file", "bad creation "
		    "time %lld", (long long)f->created);
	if ((msgs = json_array()) == NULL)
		goto oom;
	for (i = 0; i < f->nmsgs; i++)
		if ((v = b64_json(f->msgs[i].der, f->msgs[i].len)) == NULL ||
		    json_array_append_new(msgs, v) == -1)
			goto oom_msgs;
	if (f->kind == CA_OFF_RESPONSE) {
		if ((objs = json_array()) == NULL)
			goto oom_msgs;
		for (i = 0; i < f->nobjs; i++) {
			if ((v = b64_json(f->objs[i].der, f->objs[i].len)) == NULL ||
			    json_array_append_new(objs, json_pack("{s:s, s:o}",
			    "uri", f->objs[i].uri, "der", v)) == -1)
				goto oom_msgs;
		}
	}
	o = json_pack("{s:s, s:i, s:s, s:s?, s:s, s:o}", "type",
	    f->kind == CA_OFF_REQUEST ? TYPE_REQUEST : TYPE_RESPONSE,
	    "version", 1, "parent", f->parent, "child", f->child, "created",
	    when, "messages", msgs);
	if (o == NULL)
		goto oom_objs;
	if (objs != NULL && json_object_set_new(o, "objects", objs) == -1) {
		objs = NULL;
		goto oom;
	}
	objs = NULL;
	if ((*out = json_dumps(o, JSON_INDENT(1) | JSON_PRESERVE_ORDER)) == NULL)
		goto oom;
	*len = strlen(*out);
	rc = 0;
	goto out;
oom_msgs:
	json_decref(msgs);
oom_objs:
	json_decref(objs);
	objs = NULL;
oom:
	cm_err_set(err, CM_ENOMEM, "offline file", "out of memory");
out:
	json_decref(objs);
	json_decref(o);
	return rc;
}

/* ---- parsing ---------------------------------------------------------- */

static int
bad(struct cm_err *err, const char *fn, const char *field, const char *why)
{
	return cm_err_set(err, CM_EINVAL, fn, "%s: %s", field, why);
}

/* base64 string v into a new buffer of 1..max bytes. */
static int
b64_field(const char *fn, const char *field, json_t *v, size_t max,
    uint8_t **der, size_t *len, struct cm_err *err)
{
	struct cm_buf	b = CM_BUF_INIT;
	struct cm_err	e2;

	if (!json_is_string(v))
		return bad(err, fn, field, "not a string");
	if (json_string_length(v) > (max / 3 + 1) * 4 + 64)
		return bad(err, fn, field, "too large");
	if (cm_b64_decode(json_string_value(v), json_string_length(v), &b,
	    &e2) == -1) {
		cm_buf_free(&b);
		return cm_err_set(err, CM_EINVAL, fn, "%s: not base64 (%s)",
		    field, e2.msg);
	}
	if (b.len == 0 || b.len > max) {
		cm_buf_free(&b);
		return bad(err, fn, field, b.len == 0 ? "empty" : "too large");
	}
	*len = b.len;
	*der = cm_buf_steal(&b, NULL);
	return 0;
}

static int
time_field(const char *fn, json_t *v, int64_t *out, struct cm_err *err)
{
	struct tm	 tm, back;
	const char	*s, *end;
	char		 again[32];
	time_t		 t;

	if (!json_is_string(v))
		return bad(err, fn, "created", "not a string");
	s = json_string_value(v);
	memset(&tm, 0, sizeof(tm));
	if (strlen(s) != 20 || (end = strptime(s, "%Y-%m-%dT%H:%M:%SZ",
	    &tm)) == NULL || *end != '\0')
		return bad(err, fn, "created", "not YYYY-MM-DDTHH:MM:SSZ");
	*out = (int64_t)timegm(&tm);
	/* Canonical: 1970 or later, and a date that exists (no Feb 30). */
	t = (time_t)*out;
	if (*out < 0 || gmtime_r(&t, &back) == NULL ||
	    strftime(again, sizeof(again), "%Y-%m-%dT%H:%M:%SZ", &back) == 0 ||
	    strcmp(again, s) != 0)
		return bad(err, fn, "created", "not a valid time");
	return 0;
}

/* An rsync URI with a valid file name, unique among the first n of objs. */
static int
uri_ok(const char *fn, const char *uri, const struct ca_off_obj *objs,
    size_t n, struct cm_err *err)
{
	const char	*slash;
	size_t		 i;

	if (strncmp(uri, "rsync://", 8) != 0 || strlen(uri) > CA_OFF_URI_MAX ||
	    strstr(uri, "/../") != NULL || strstr(uri, "/./") != NULL ||
	    uri[8] == '/' || strstr(uri + 8, "//") != NULL ||
	    strchr(uri, '\\') != NULL)
		return cm_err_set(err, CM_EINVAL, fn, "objects: \"%.80s\" is not "
		    "an rsync URI of at most %d characters", uri, CA_OFF_URI_MAX);
	slash = strrchr(uri, '/');
	if (slash < uri + 8 || !ca_mft_name_ok(slash + 1))
		return cm_err_set(err, CM_EINVAL, fn, "objects: \"%.80s\" has no "
		    "valid file name", uri);
	for (i = 0; i < n; i++)
		if (strcmp(objs[i].uri, uri) == 0)
			return cm_err_set(err, CM_EINVAL, fn, "objects: \"%.80s\" "
			    "appears twice", uri);
	return 0;
}

static int
objects_field(const char *fn, json_t *arr, struct ca_off *f, struct cm_err *err)
{
	json_t		*o, *u, *d;
	const char	*k;
	json_t		*v;
	size_t		 i, n;

	if (!json_is_array(arr))
		return bad(err, fn, "objects", "not an array");
	n = json_array_size(arr);
	if (n == 0 || n > CA_OFF_OBJ_MAX)
		return bad(err, fn, "objects", n == 0 ? "empty" : "too many");
	if ((f->objs = calloc(n, sizeof(*f->objs))) == NULL)
		return cm_err_set(err, CM_ENOMEM, fn, "out of memory");
	json_array_foreach(arr, i, o) {
		if (!json_is_object(o))
			return bad(err, fn, "objects", "an element is not an "
			    "object");
		json_object_foreach(o, k, v)
			if (strcmp(k, "uri") != 0 && strcmp(k, "der") != 0)
				return cm_err_set(err, CM_EINVAL, fn, "objects: "
				    "unknown key \"%.40s\"", k);
		u = json_object_get(o, "uri");
		d = json_object_get(o, "der");
		if (!json_is_string(u) || d == NULL)
			return bad(err, fn, "objects", "an element lacks uri or "
			    "der");
		if (uri_ok(fn, json_string_value(u), f->objs, f->nobjs,
		    err) == -1)
			return -1;
		if ((f->objs[f->nobjs].uri = strdup(json_string_value(u))) == NULL)
			return cm_err_set(err, CM_ENOMEM, fn, "out of memory");
		f->nobjs++;
		if (b64_field(fn, "objects.der", d, CA_OFF_OBJ_BYTES,
		    &f->objs[f->nobjs - 1].der, &f->objs[f->nobjs - 1].len,
		    err) == -1)
			return -1;
	}
	return 0;
}

static int
messages_field(const char *fn, json_t *arr, struct ca_off *f,
    struct cm_err *err)
{
	json_t	*m;
	size_t	 i, n;

	if (!json_is_array(arr))
		return bad(err, fn, "messages", "not an array");
	n = json_array_size(arr);
	if (n > CA_OFF_MSG_MAX)
		return bad(err, fn, "messages", "too many");
	if (n == 0 && f->kind == CA_OFF_REQUEST)
		return bad(err, fn, "messages", "a request asks nothing");
	if (n == 0)
		return 0;
	if ((f->msgs = calloc(n, sizeof(*f->msgs))) == NULL)
		return cm_err_set(err, CM_ENOMEM, fn, "out of memory");
	json_array_foreach(arr, i, m) {
		if (b64_field(fn, "messages", m, CA_OFF_MSG_BYTES,
		    &f->msgs[i].der, &f->msgs[i].len, err) == -1)
			return -1;
		f->nmsgs++;
	}
	return 0;
}

static int
handle_field(const char *fn, const char *field, json_t *v, char **out,
    struct cm_err *err)
{
	if (!json_is_string(v) || !ca_off_handle_ok(json_string_value(v)))
		return bad(err, fn, field, "not a handle (1-255 of A-Z a-z 0-9 "
		    "- _ /)");
	if ((*out = strdup(json_string_value(v))) == NULL)
		return cm_err_set(err, CM_ENOMEM, fn, "out of memory");
	return 0;
}

int
ca_off_parse(const char *fn, const uint8_t *text, size_t len,
    enum ca_off_kind want, struct ca_off **out, struct cm_err *err)
{
	static const char *const keys[] = { "type", "version", "parent",
	    "child", "created", "messages", "objects" };
	struct ca_off	*f = NULL;
	json_error_t	 je;
	json_t		*o = NULL, *v;
	const char	*k;
	size_t		 i;
	int		 rc = -1;

	*out = NULL;
	if (len > CA_OFF_FILE_MAX)
		return bad(err, fn, "file", "too large");
	if ((o = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES,
	    &je)) == NULL)
		return cm_err_set(err, CM_EINVAL, fn, "not JSON: line %d: %s",
		    je.line, je.text);
	if (!json_is_object(o)) {
		bad(err, fn, "file", "not a JSON object");
		goto out;
	}
	json_object_foreach(o, k, v) {
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (strcmp(k, keys[i]) == 0)
				break;
		if (i == sizeof(keys) / sizeof(keys[0])) {
			cm_err_set(err, CM_EINVAL, fn, "unknown key \"%.40s\"", k);
			goto out;
		}
	}
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		cm_err_set(err, CM_ENOMEM, fn, "out of memory");
		goto out;
	}
	f->kind = want;
	v = json_object_get(o, "type");
	if (!json_is_string(v) || strcmp(json_string_value(v), want ==
	    CA_OFF_REQUEST ? TYPE_REQUEST : TYPE_RESPONSE) != 0) {
		cm_err_set(err, CM_EINVAL, fn, "type: not \"%s\"", want ==
		    CA_OFF_REQUEST ? TYPE_REQUEST : TYPE_RESPONSE);
		goto out;
	}
	v = json_object_get(o, "version");
	if (!json_is_integer(v) || json_integer_value(v) != 1) {
		bad(err, fn, "version", "not 1");
		goto out;
	}
	if (handle_field(fn, "parent", json_object_get(o, "parent"), &f->parent,
	    err) == -1)
		goto out;
	v = json_object_get(o, "child");
	if (want == CA_OFF_RESPONSE && json_is_null(v))
		f->child = NULL;
	else if (handle_field(fn, "child", v, &f->child, err) == -1)
		goto out;
	if (time_field(fn, json_object_get(o, "created"), &f->created,
	    err) == -1 ||
	    messages_field(fn, json_object_get(o, "messages"), f, err) == -1)
		goto out;
	if (f->child == NULL && f->nmsgs > 0) {
		bad(err, fn, "messages", "replies without a child");
		goto out;
	}
	v = json_object_get(o, "objects");
	if (want == CA_OFF_REQUEST && v != NULL) {
		bad(err, fn, "objects", "not in a request");
		goto out;
	}
	if (want == CA_OFF_RESPONSE && (v == NULL ? bad(err, fn, "objects",
	    "missing") : objects_field(fn, v, f, err)) == -1)
		goto out;
	*out = f;
	f = NULL;
	rc = 0;
out:
	ca_off_free(f);
	json_decref(o);
	return rc;
}
