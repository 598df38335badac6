/*
 * Bulk import of members and resources (api_import.h): applying a parsed
 * file through the API (listing, bulk creation, resource changes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/api_import.h"

static const char *fam_name[3] = { "asn", "ipv4", "ipv6" };

/* ---- applying ---- */

struct have {
	char	*handle, *parent, *res[3];
	int	 failed;	/* created or updated here: 0; failed: 1 */
};

static int
cmp_have(const void *a, const void *b)
{
	return strcmp(((const struct have *)a)->handle,
	    ((const struct have *)b)->handle);
}

static void
haves_free(struct have *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(h[i].handle);
		free(h[i].parent);
		free(h[i].res[0]);
		free(h[i].res[1]);
		free(h[i].res[2]);
	}
	free(h);
}

/* One request; 0 with the status and parsed body, -1 unreachable. */
static int
call(const char *url, const struct api_http_opts *ho, const char *method,
    const char *path, json_t *body, int *status, json_t **out,
    struct cm_err *err)
{
	struct api_http_resp	 r;
	char			*b = NULL;
	int			 rc;

	*out = NULL;
	if (body != NULL && (b = json_dumps(body, JSON_COMPACT)) == NULL)
		return cm_err_set(err, CM_ENOMEM, "import", "out of memory");
	rc = api_http_do(url, method, path, b, ho, &r, err);
	free(b);
	if (rc == -1)
		return -1;
	*status = r.status;
	*out = r.len > 0 ? json_loads(r.body, 0, NULL) : NULL;
	if (r.status >= 500) {
		cm_err_set(err, CM_EIO, url, "%s %s: HTTP %d", method, path,
		    r.status);
		json_decref(*out);
		*out = NULL;
		api_http_resp_free(&r);
		return -1;
	}
	api_http_resp_free(&r);
	return 0;
}

/* Every CA the token sees, sorted by handle. */
static int
list_cas(const char *url, const struct api_http_opts *ho, struct have **out,
    size_t *nout, struct cm_err *err)
{
	struct have	*h = NULL, *v;
	size_t		 n = 0, cap = 0, i;
	char		 path[600], after[300] = "";
	json_t		*j, *c, *r;
	int		 st, f;

	for (;;) {
		snprintf(path, sizeof(path), "/api/v1/cas?limit=1000%s%s",
		    *after != '\0' ? "&after=" : "", after);
		if (call(url, ho, "GET", path, NULL, &st, &j, err) == -1)
			goto fail;
		if (st != 200) {
			cm_err_set(err, CM_EPERM, url, "listing the CAs: HTTP %d",
			    st);
			json_decref(j);
			goto fail;
		}
		json_array_foreach(json_object_get(j, "cas"), i, c) {
			if (n == cap) {
				cap = cap ? cap * 2 : 1024;
				if ((v = realloc(h, cap * sizeof(*v))) == NULL) {
					json_decref(j);
					cm_err_set(err, CM_ENOMEM, "import",
					    "out of memory");
					goto fail;
				}
				h = v;
			}
			memset(&h[n], 0, sizeof(h[n]));
			r = json_object_get(c, "resources");
			h[n].handle = strdup(json_string_value(json_object_get(c,
			    "handle")) ? json_string_value(json_object_get(c,
			    "handle")) : "");
			h[n].parent = strdup(json_is_string(json_object_get(c,
			    "parent")) ? json_string_value(json_object_get(c,
			    "parent")) : "");
			for (f = 0; f < 3; f++)
				h[n].res[f] = strdup(json_is_string(
				    json_object_get(r, fam_name[f])) ?
				    json_string_value(json_object_get(r,
				    fam_name[f])) : "");
			n++;
		}
		if (!json_is_string(json_object_get(j, "next"))) {
			json_decref(j);
			break;
		}
		/* Handles need no escaping in a query (letters, . _ -). */
		snprintf(after, sizeof(after), "%s", json_string_value(
		    json_object_get(j, "next")));
		json_decref(j);
	}
	if (n > 0)
		qsort(h, n, sizeof(*h), cmp_have);
	*out = h;
	*nout = n;
	return 0;
fail:
	haves_free(h, n);
	return -1;
}

static struct have *
have_find(struct have *h, size_t n, const char *handle)
{
	struct have key;

	memset(&key, 0, sizeof(key));
	key.handle = (char *)handle;
	return n > 0 ? bsearch(&key, h, n, sizeof(*h), cmp_have) : NULL;
}

/* The server's error message, or the status. */
static void
why(json_t *j, int status, char *msg, size_t len)
{
	json_t		*e = json_object_get(j, "error");
	const char	*f = json_string_value(json_object_get(e, "field"));

	if (e == NULL)
		snprintf(msg, len, "HTTP %d", status);
	else
		snprintf(msg, len, "%d %s: %s%s%s%s", status,
		    json_string_value(json_object_get(e, "code")),
		    json_string_value(json_object_get(e, "message")),
		    f != NULL ? " (field " : "", f != NULL ? f : "",
		    f != NULL ? ")" : "");
}

static json_t *
res_body(const struct api_import_rec *r)
{
	return json_pack("{s:s, s:s, s:s}", "asn", r->res[0], "ipv4",
	    r->res[1], "ipv6", r->res[2]);
}

/* Creations go in requests of this many CAs (POST /bulk/cas). */
#define IMPORT_BATCH	200

struct run {
	const struct api_import	*im;
	const char		*url;
	const struct api_http_opts *ho;
	api_import_cb		 cb;
	void			*arg;
	struct api_import_stats	*st;
	struct have		*h;
	size_t			 nh;
	const char		**failed;	/* failed or skipped handles */
	size_t			 nf;
	size_t			*batch;		/* members to create */
	size_t			 nb;
	size_t			 done;
};

static void
report(struct run *r, size_t i, enum api_import_what what, const char *msg)
{
	r->st->n[what]++;
	if (what == API_IMPORT_FAILED || what == API_IMPORT_SKIPPED)
		r->failed[r->nf++] = r->im->recs[i].handle;
	r->done++;
	if (r->cb != NULL)
		r->cb(r->arg, &r->im->recs[i], what, msg, r->done, r->im->n);
}

static int
is_failed(const struct run *r, const char *handle)
{
	for (size_t i = 0; i < r->nf; i++)
		if (strcmp(r->failed[i], handle) == 0)
			return 1;
	return 0;
}

/* Drops batch entry k, and later ones whose parent has failed. */
static void
batch_drop(struct run *r, size_t k)
{
	size_t	i, j;
	char	msg[300];

	memmove(&r->batch[k], &r->batch[k + 1], (r->nb - k - 1) *
	    sizeof(*r->batch));
	r->nb--;
	for (i = j = 0; i < r->nb; i++) {
		const struct api_import_rec *m = &r->im->recs[r->batch[i]];

		if (is_failed(r, m->parent)) {
			snprintf(msg, sizeof(msg), "parent %s failed",
			    m->parent);
			report(r, r->batch[i], API_IMPORT_SKIPPED, msg);
		} else
			r->batch[j++] = r->batch[i];
	}
	r->nb = j;
}

/*
 * Creates the batch: one transaction on the server, all or none.  When the
 * server names the entry at fault, that member fails and the rest goes
 * again.  Returns 0, or -1 when the server is unreachable or fails.
 */
static int
flush(struct run *r, struct cm_err *err)
{
	json_t		*b, *arr, *j, *e;
	char		 msg[1200];
	size_t		 i;
	int		 st;

	while (r->nb > 0) {
		arr = json_array();
		for (i = 0; i < r->nb; i++) {
			const struct api_import_rec *m =
			    &r->im->recs[r->batch[i]];

			json_array_append_new(arr, json_pack("{s:s, s:s, s:o}",
			    "handle", m->handle, "parent", m->parent,
			    "resources", res_body(m)));
		}
		b = json_pack("{s:o}", "cas", arr);
		if (call(r->url, r->ho, "POST", "/api/v1/bulk/cas", b, &st, &j,
		    err) == -1) {
			json_decref(b);
			return -1;
		}
		json_decref(b);
		if (st == 201) {
			for (i = 0; i < r->nb; i++)
				report(r, r->batch[i], API_IMPORT_CREATED, NULL);
			r->nb = 0;
		} else {
			why(j, st, msg, sizeof(msg));
			e = json_object_get(json_object_get(j, "error"),
			    "index");
			if (json_is_integer(e) && json_integer_value(e) >= 0 &&
			    (size_t)json_integer_value(e) < r->nb) {
				i = (size_t)json_integer_value(e);
				report(r, r->batch[i], API_IMPORT_FAILED, msg);
				batch_drop(r, i);
			} else {
				for (i = 0; i < r->nb; i++)
					report(r, r->batch[i], API_IMPORT_FAILED,
					    msg);
				r->nb = 0;
			}
		}
		json_decref(j);
	}
	return 0;
}

/* One member: decided here; changed now (update) or in a batch (new). */
static int
one(struct run *r, size_t i, int dry_run, struct cm_err *err)
{
	const struct api_import_rec	*m = &r->im->recs[i];
	struct have			*cur = have_find(r->h, r->nh, m->handle);
	json_t				*b, *j = NULL;
	char				 path[400], msg[1200];
	int				 st;

	if (is_failed(r, m->parent)) {
		snprintf(msg, sizeof(msg), "parent %s failed", m->parent);
		report(r, i, API_IMPORT_SKIPPED, msg);
		return 0;
	}
	if (cur != NULL && strcmp(cur->parent, m->parent) != 0) {
		snprintf(msg, sizeof(msg), "exists under %s, not %s (moving a "
		    "CA is a transfer and a new CA)", *cur->parent ?
		    cur->parent : "-", m->parent);
		report(r, i, API_IMPORT_FAILED, msg);
		return 0;
	}
	if (cur != NULL && strcmp(cur->res[0], m->res[0]) == 0 &&
	    strcmp(cur->res[1], m->res[1]) == 0 &&
	    strcmp(cur->res[2], m->res[2]) == 0) {
		report(r, i, API_IMPORT_UNCHANGED, NULL);
		return 0;
	}
	if (dry_run) {
		report(r, i, cur != NULL ? API_IMPORT_UPDATED :
		    API_IMPORT_CREATED, NULL);
		return 0;
	}
	if (cur == NULL) {
		r->batch[r->nb++] = i;
		return r->nb == IMPORT_BATCH ? flush(r, err) : 0;
	}
	/* Changes stay in the order of the file: creations first. */
	if (flush(r, err) == -1)
		return -1;
	snprintf(path, sizeof(path), "/api/v1/cas/%s/resources", m->handle);
	b = res_body(m);
	st = 0;
	if (call(r->url, r->ho, "PUT", path, b, &st, &j, err) == -1) {
		json_decref(b);
		return -1;
	}
	json_decref(b);
	if (st == 200)
		report(r, i, API_IMPORT_UPDATED, NULL);
	else {
		why(j, st, msg, sizeof(msg));
		report(r, i, API_IMPORT_FAILED, msg);
	}
	json_decref(j);
	return 0;
}

int
api_import_run(const struct api_import *im, const char *url,
    const struct api_http_opts *ho, int dry_run, api_import_cb cb,
    void *arg, struct api_import_stats *st, struct cm_err *err)
{
	struct run	r;
	size_t		i;
	int		rc = -1;

	memset(st, 0, sizeof(*st));
	memset(&r, 0, sizeof(r));
	r.im = im;
	r.url = url;
	r.ho = ho;
	r.cb = cb;
	r.arg = arg;
	r.st = st;
	if (list_cas(url, ho, &r.h, &r.nh, err) == -1)
		return -1;
	if ((r.failed = calloc(im->n + 1, sizeof(*r.failed))) == NULL ||
	    (r.batch = calloc(IMPORT_BATCH, sizeof(*r.batch))) == NULL) {
		cm_err_set(err, CM_ENOMEM, "import", "out of memory");
		goto out;
	}
	for (i = 0; i < im->n; i++)
		if (one(&r, i, dry_run, err) == -1)
			goto out;
	if (flush(&r, err) == -1)
		goto out;
	rc = r.nf > 0 ? 1 : 0;
out:
	haves_free(r.h, r.nh);
	free(r.failed);
	free(r.batch);
	return rc;
}
