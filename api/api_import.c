/*
 * Bulk import of members and resources (api_import.h): parsing CSV and
 * JSON files, ordering parents first, and applying them through the API.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "api/api_import.h"
#include "ca/resources.h"
#include "common/cm_buf.h"

#define IMPORT_MAX	1000000	/* members in one file */

static const char *fam_name[3] = { "asn", "ipv4", "ipv6" };

void
api_import_free(struct api_import *im)
{
	size_t	i;

	if (im == NULL)
		return;
	for (i = 0; i < im->n; i++) {
		free(im->recs[i].handle);
		free(im->recs[i].parent);
		free(im->recs[i].res[0]);
		free(im->recs[i].res[1]);
		free(im->recs[i].res[2]);
	}
	free(im->recs);
	free(im);
}

static int
handle_ok(const char *h)
{
	size_t	i, n = strlen(h);

	if (n == 0 || n > 255)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];

		if (isalnum(c) || (i > 0 && strchr("._-", c) != NULL))
			continue;
		return 0;
	}
	return 1;
}

/*
 * The canonical RFC 6492 text of family f from an item list separated by
 * commas, semicolons or blanks (AS numbers may say "AS").  *out malloc'd.
 */
static int
is_as(const char *p)
{
	return (p[0] == 'A' || p[0] == 'a') && (p[1] == 'S' || p[1] == 's');
}

static int
canon(const char *where, int f, const char *in, char **out,
    struct cm_err *err)
{
	struct cm_buf	 b = CM_BUF_INIT;
	struct ca_res	*r = NULL;
	const char	*p = in, *e, *q;
	char		 obj[300];
	int		 rc = -1;

	*out = NULL;
	for (;;) {
		while (*p != '\0' && strchr(",; \t\r\n", *p) != NULL)
			p++;
		if (*p == '\0')
			break;
		for (e = p; *e != '\0' && strchr(",; \t\r\n", *e) == NULL; e++)
			;
		if (b.len > 0)
			cm_buf_add(&b, ",", 1);
		/* AS64496 and AS64496-AS64511 */
		for (q = p; q < e; q++) {
			if (f == 0 && e - q > 2 && is_as(q) && (q == p ||
			    q[-1] == '-'))
				q += 2;
			cm_buf_add(&b, q, 1);
		}
		p = e;
	}
	cm_buf_add(&b, "", 1);
	snprintf(obj, sizeof(obj), "%s: %s", where, fam_name[f]);
	if ((r = ca_res_new()) == NULL) {
		cm_err_set(err, CM_ENOMEM, where, "out of memory");
		goto out;
	}
	if (ca_res_parse(r, (enum ca_res_family)f, (const char *)b.data, obj,
	    err) == -1 || ca_res_print(r, (enum ca_res_family)f, out,
	    err) == -1)
		goto out;
	if (strcmp(*out, "inherit") == 0) {
		cm_err_set(err, CM_EINVAL, obj, "resources must be explicit, not "
		    "inherit");
		goto out;
	}
	rc = 0;
out:
	if (rc == -1) {
		free(*out);
		*out = NULL;
	}
	ca_res_free(r);
	cm_buf_free(&b);
	return rc;
}

/* Appends a member; the strings are copied; res[] raw (canonicalised). */
static int
add_rec(struct api_import *im, const char *name, int line, const char *handle,
    const char *parent, const char *res[3], struct cm_err *err)
{
	struct api_import_rec	*r, *v;
	char			 where[300];
	int			 f;

	snprintf(where, sizeof(where), "%s: line %d", name, line);
	if (handle == NULL || *handle == '\0')
		return cm_err_set(err, CM_EINVAL, where, "handle is missing");
	if (!handle_ok(handle))
		return cm_err_set(err, CM_EINVAL, where, "%s: a handle is 1 to "
		    "255 letters, digits, '.', '_' or '-', starting with a "
		    "letter or digit", handle);
	if (parent == NULL || *parent == '\0')
		return cm_err_set(err, CM_EINVAL, where, "%s: parent is missing",
		    handle);
	if (!handle_ok(parent))
		return cm_err_set(err, CM_EINVAL, where, "%s: parent %s is not a "
		    "handle", handle, parent);
	if (im->n == IMPORT_MAX)
		return cm_err_set(err, CM_ELIMIT, where, "more than %d members",
		    IMPORT_MAX);
	if ((im->n & (im->n - 1)) == 0) {
		if ((v = realloc(im->recs, (im->n ? im->n * 2 : 16) *
		    sizeof(*v))) == NULL)
			return cm_err_set(err, CM_ENOMEM, where, "out of memory");
		im->recs = v;
	}
	r = &im->recs[im->n];
	memset(r, 0, sizeof(*r));
	r->line = line;
	r->handle = strdup(handle);
	r->parent = strdup(parent);
	im->n++;
	if (r->handle == NULL || r->parent == NULL)
		return cm_err_set(err, CM_ENOMEM, where, "out of memory");
	snprintf(where, sizeof(where), "%s: line %d: %s", name, line, handle);
	for (f = 0; f < 3; f++)
		if (canon(where, f, res[f] != NULL ? res[f] : "", &r->res[f],
		    err) == -1)
			return -1;
	if (*r->res[0] == '\0' && *r->res[1] == '\0' && *r->res[2] == '\0')
		return cm_err_set(err, CM_EINVAL, where, "no resources");
	return 0;
}

/* ---- CSV ---- */

/*
 * One record from *p (RFC 4180): fields into f[] (malloc'd, at most nf),
 * their count into *n; *line advances over the newlines consumed.
 * Returns 1 with a record, 0 at the end, -1 on a syntax error.
 */
static int
csv_record(const char **p, const char *end, char *f[], int nf, int *n,
    int *line, struct cm_err *err, const char *name)
{
	struct cm_buf	 b = CM_BUF_INIT;
	const char	*s = *p;
	int		 k = 0, startline = *line;

	*n = 0;
	if (s >= end)
		return 0;
	for (;;) {
		cm_buf_free(&b);
		if (s < end && *s == '"') {
			for (s++;; s++) {
				if (s >= end) {
					cm_buf_free(&b);
					return cm_err_set(err, CM_EINVAL, name,
					    "line %d: a quoted field is not "
					    "closed", startline);
				}
				if (*s == '"') {
					if (s + 1 < end && s[1] == '"') {
						cm_buf_add(&b, "\"", 1);
						s++;
						continue;
					}
					s++;
					break;
				}
				if (*s == '\n')
					(*line)++;
				cm_buf_add(&b, s, 1);
			}
		} else
			for (; s < end && *s != ',' && *s != '\n'; s++)
				cm_buf_add(&b, s, 1);
		if (k == nf) {
			cm_buf_free(&b);
			return cm_err_set(err, CM_EINVAL, name, "line %d: more "
			    "than %d fields", startline, nf);
		}
		cm_buf_add(&b, "", 1);
		f[k++] = (char *)cm_buf_steal(&b, NULL);
		*n = k;
		if (s < end && *s == ',') {
			s++;
			continue;
		}
		if (s < end && *s != '\n') {
			return cm_err_set(err, CM_EINVAL, name, "line %d: text "
			    "after a quoted field", startline);
		}
		if (s < end) {
			s++;
			(*line)++;
		}
		break;
	}
	/* A field read up to "\r\n" keeps its \r: drop it. */
	if (k > 0) {
		size_t l = strlen(f[k - 1]);

		if (l > 0 && f[k - 1][l - 1] == '\r')
			f[k - 1][l - 1] = '\0';
	}
	*p = s;
	return 1;
}

static void
free_fields(char *f[], int n)
{
	for (int i = 0; i < n; i++) {
		free(f[i]);
		f[i] = NULL;
	}
}

static int
blank(char *f[], int n)
{
	const char *s;

	if (n == 0)
		return 1;
	for (s = f[0]; isspace((unsigned char)*s); s++)
		;
	return (n == 1 && *s == '\0') || *s == '#';
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

#define CSV_MAXF	16

static int
parse_csv(struct api_import *im, const char *name, const char *buf,
    size_t len, struct cm_err *err)
{
	const char	*p = buf, *end = buf + len;
	const char	*res[3];
	char		*f[CSV_MAXF] = { NULL };
	int		 col[5] = { -1, -1, -1, -1, -1 };	/* h p as v4 v6 */
	static const char *cols[5] = { "handle", "parent", "asn", "ipv4",
	    "ipv6" };
	int		 n, i, k, line = 1, recline, rc, header = 0;

	for (;;) {
		recline = line;
		if ((rc = csv_record(&p, end, f, CSV_MAXF, &n, &line, err,
		    name)) <= 0)
			break;
		if (blank(f, n)) {
			free_fields(f, n);
			continue;
		}
		if (!header) {
			for (i = 0; i < n; i++) {
				char *t = trim(f[i]);

				for (k = 0; k < 5; k++)
					if (strcasecmp(t, cols[k]) == 0)
						break;
				if (k == 5 || col[k] != -1) {
					cm_err_set(err, CM_EINVAL, name, "line %d: "
					    "column \"%s\": the header names "
					    "handle, parent, asn, ipv4 and ipv6, "
					    "each once", recline, t);
					free_fields(f, n);
					return -1;
				}
				col[k] = i;
			}
			free_fields(f, n);
			if (col[0] == -1 || col[1] == -1) {
				return cm_err_set(err, CM_EINVAL, name, "line %d: "
				    "the header must name handle and parent "
				    "columns", recline);
			}
			header = 1;
			continue;
		}
		for (k = 0; k < 3; k++)
			res[k] = col[k + 2] >= 0 && col[k + 2] < n ?
			    f[col[k + 2]] : NULL;
		rc = add_rec(im, name, recline, col[0] < n ? trim(f[col[0]]) :
		    NULL, col[1] < n ? trim(f[col[1]]) : NULL, res, err);
		free_fields(f, n);
		if (rc == -1)
			return -1;
	}
	free_fields(f, n);
	if (rc == -1)
		return -1;
	if (!header)
		return cm_err_set(err, CM_EINVAL, name, "no header line (handle,"
		    "parent,asn,ipv4,ipv6)");
	return 0;
}

/* ---- JSON ---- */

/* The line of the next occurrence of "handle" (quoted) from *pos. */
static int
line_of(const char *buf, size_t len, size_t *pos, const char *handle)
{
	char		 q[300];
	const char	*s;
	size_t		 i;
	int		 line = 1;

	snprintf(q, sizeof(q), "\"%s\"", handle);
	s = memmem(buf + *pos, len - *pos, q, strlen(q));
	if (s == NULL)
		return 0;
	*pos = (size_t)(s - buf) + strlen(q);
	for (i = 0; buf + i < s; i++)
		if (buf[i] == '\n')
			line++;
	return line;
}

/* A resource value: a string, or an array of strings and integers. */
static int
json_res(json_t *v, struct cm_buf *b)
{
	json_t	*x;
	size_t	 i;

	cm_buf_free(b);
	if (v == NULL || json_is_null(v))
		return cm_buf_add(b, "", 1);
	if (json_is_string(v))
		return cm_buf_puts(b, json_string_value(v)) == -1 ? -1 :
		    cm_buf_add(b, "", 1);
	if (json_is_integer(v))
		return cm_buf_printf(b, "%lld", (long long)json_integer_value(v))
		    == -1 ? -1 : cm_buf_add(b, "", 1);
	if (!json_is_array(v))
		return -1;
	json_array_foreach(v, i, x) {
		if (json_is_string(x))
			cm_buf_printf(b, "%s%s", i ? "," : "",
			    json_string_value(x));
		else if (json_is_integer(x))
			cm_buf_printf(b, "%s%lld", i ? "," : "",
			    (long long)json_integer_value(x));
		else
			return -1;
	}
	return cm_buf_add(b, "", 1);
}

static int
parse_json(struct api_import *im, const char *name, const char *buf,
    size_t len, struct cm_err *err)
{
	json_error_t	 je;
	json_t		*doc, *arr, *m;
	struct cm_buf	 rb[3] = { CM_BUF_INIT, CM_BUF_INIT, CM_BUF_INIT };
	const char	*res[3], *h, *p;
	size_t		 i, pos = 0;
	int		 f, line, rc = -1;

	if ((doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je)) == NULL)
		return cm_err_set(err, CM_EINVAL, name, "line %d column %d: %s",
		    je.line, je.column, je.text);
	arr = json_is_array(doc) ? doc : json_object_get(doc, "members");
	if (!json_is_array(arr)) {
		cm_err_set(err, CM_EINVAL, name, "line 1: expected an array of "
		    "members or {\"members\": [...]}");
		goto out;
	}
	json_array_foreach(arr, i, m) {
		h = json_string_value(json_object_get(m, "handle"));
		p = json_string_value(json_object_get(m, "parent"));
		line = h != NULL ? line_of(buf, len, &pos, h) : 0;
		if (!json_is_object(m) || h == NULL) {
			cm_err_set(err, CM_EINVAL, name, "members[%zu]: an object "
			    "with a handle string is expected", i);
			goto out;
		}
		for (f = 0; f < 3; f++) {
			if (json_res(json_object_get(m, fam_name[f]), &rb[f]) ==
			    -1) {
				cm_err_set(err, CM_EINVAL, name, "line %d: %s: %s "
				    "must be a string or an array of strings "
				    "and numbers", line, h, fam_name[f]);
				goto out;
			}
			res[f] = (const char *)rb[f].data;
		}
		if (add_rec(im, name, line, h, p, res, err) == -1)
			goto out;
	}
	rc = 0;
out:
	for (f = 0; f < 3; f++)
		cm_buf_free(&rb[f]);
	json_decref(doc);
	return rc;
}

/* ---- order ---- */

struct hidx {
	const char	*handle;
	size_t		 i;
};

static int
cmp_hidx(const void *a, const void *b)
{
	return strcmp(((const struct hidx *)a)->handle,
	    ((const struct hidx *)b)->handle);
}

static const struct hidx *
find(const struct hidx *x, size_t n, const char *h)
{
	struct hidx key = { h, 0 };

	return bsearch(&key, x, n, sizeof(*x), cmp_hidx);
}

/* Orders im parents first (a stable topological order). */
static int
order(struct api_import *im, const char *name, struct cm_err *err)
{
	struct api_import_rec	*out = NULL;
	struct hidx		*x = NULL;
	const struct hidx	*h;
	unsigned char		*mark = NULL;	/* 0 new, 1 on the path, 2 done */
	size_t			*stack = NULL, i, k, sp, n = im->n;
	int			 rc = -1;

	if (n == 0)
		return 0;
	if ((x = calloc(n, sizeof(*x))) == NULL ||
	    (out = calloc(n, sizeof(*out))) == NULL ||
	    (mark = calloc(n, 1)) == NULL ||
	    (stack = calloc(n + 1, sizeof(*stack))) == NULL) {
		cm_err_set(err, CM_ENOMEM, name, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		x[i].handle = im->recs[i].handle;
		x[i].i = i;
	}
	qsort(x, n, sizeof(*x), cmp_hidx);
	for (i = 1; i < n; i++)
		if (strcmp(x[i].handle, x[i - 1].handle) == 0) {
			cm_err_set(err, CM_EINVAL, name, "line %d: %s is also on "
			    "line %d", im->recs[x[i].i].line, x[i].handle,
			    im->recs[x[i - 1].i].line);
			goto out;
		}
	for (i = k = 0; i < n; i++) {
		/* Walk up to the first ancestor not placed yet, place down. */
		for (sp = 0, stack[sp++] = i; ; ) {
			size_t cur = stack[sp - 1];

			if (mark[cur] == 2) {
				sp--;
			} else if ((h = find(x, n, im->recs[cur].parent)) !=
			    NULL && mark[h->i] != 2) {
				if (mark[h->i] == 1) {
					cm_err_set(err, CM_EINVAL, name, "line "
					    "%d: %s: its parents form a cycle",
					    im->recs[cur].line,
					    im->recs[cur].handle);
					goto out;
				}
				mark[cur] = 1;
				stack[sp++] = h->i;
				continue;
			} else {
				out[k++] = im->recs[cur];
				mark[cur] = 2;
				sp--;
			}
			if (sp == 0)
				break;
		}
	}
	free(im->recs);
	im->recs = out;
	out = NULL;
	rc = 0;
out:
	free(out);
	free(x);
	free(mark);
	free(stack);
	return rc;
}

int
api_import_parse(const char *name, const char *buf, size_t len,
    struct api_import **out, struct cm_err *err)
{
	struct api_import	*im;
	size_t			 i;
	int			 rc;

	*out = NULL;
	if ((im = calloc(1, sizeof(*im))) == NULL)
		return cm_err_set(err, CM_ENOMEM, name, "out of memory");
	for (i = 0; i < len && isspace((unsigned char)buf[i]); i++)
		;
	if (i < len && (buf[i] == '[' || buf[i] == '{'))
		rc = parse_json(im, name, buf, len, err);
	else
		rc = parse_csv(im, name, buf, len, err);
	if (rc == -1 || order(im, name, err) == -1) {
		api_import_free(im);
		return -1;
	}
	*out = im;
	return 0;
}
