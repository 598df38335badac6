/* The RRDP files served by every cairn-pubd process, loaded from the DB. */
#include "publish/pub_serve.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cm_file.h"
#include "common/cm_http_file.h"
#include "common/cm_log.h"
#include "publish/pub_build.h"
#include "publish/pub_rrdp.h"
#include "publish/pub_rsync.h"

#define CC_NOTIFY	"public, max-age=60"
#define CC_IMMUTABLE	"public, max-age=31536000, immutable"
#define CC_STATIC	"public, max-age=3600"
#define STATIC_MAX	(16u * 1024 * 1024)

struct tent {
	char			*path;
	struct cm_http_file	*f;
	uint64_t		 serial;	/* notification: its serial */
};

struct table {
	struct tent	*v;
	size_t		 n;
};

struct pub_serve {
	pthread_mutex_t	 mu;
	struct table	*files;		/* RRDP, guarded by mu */
	struct table	*statics;	/* static-dir, guarded by mu */
	char		*notify_path;
	char		 session[37];
	uint64_t	 serial;
};

static void
table_free(struct table *t)
{
	size_t	i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++) {
		free(t->v[i].path);
		cm_http_file_unref(t->v[i].f);
	}
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

static int
cmp_tent(const void *a, const void *b)
{
	return strcmp(((const struct tent *)a)->path,
	    ((const struct tent *)b)->path);
}

static struct tent *
table_find(const struct table *t, const char *path)
{
	struct tent	key;

	if (t == NULL || t->n == 0)
		return NULL;
	key.path = (char *)path;
	return bsearch(&key, t->v, t->n, sizeof(*t->v), cmp_tent);
}

/* The path of an https URI ("/rrdp/x"), borrowed from uri; NULL if none. */
static const char *
uri_path(const char *uri)
{
	if (strncmp(uri, "https://", 8) != 0)
		return NULL;
	return strchr(uri + 8, '/');
}

struct pub_serve *
pub_serve_new(const char *rrdp_base, struct cm_err *err)
{
	struct pub_serve	*s;
	const char		*p = uri_path(rrdp_base);

	if (p == NULL || p[strlen(p) - 1] != '/') {
		cm_err_set(err, CM_EINVAL, rrdp_base, "RRDP base URI must be "
		    "https://host[:port]/[path/] ending in '/'");
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    asprintf(&s->notify_path, "%snotification.xml", p) == -1) {
		free(s);
		cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&s->mu, NULL);
	return s;
}

void
pub_serve_free(struct pub_serve *s)
{
	if (s == NULL)
		return;
	table_free(s->files);
	free(s->files);
	table_free(s->statics);
	free(s->statics);
	free(s->notify_path);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static const char *
static_type(const char *name)
{
	const char	*dot = strrchr(name, '.');

	if (dot != NULL && strcmp(dot, ".cer") == 0)
		return "application/pkix-cert";
	if (dot != NULL && strcmp(dot, ".tal") == 0)
		return "text/plain";
	return "application/octet-stream";
}

/* Adds dir/name to t as a static file.  0, or -1 with err naming it. */
static int
add_static(struct table *t, const char *dir, const char *name,
    struct cm_err *err)
{
	struct cm_http_file_opts o;
	struct stat	 st;
	struct tent	*v;
	uint8_t		*data;
	size_t		 len;
	char		 path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (stat(path, &st) == -1) {
		/* Removed since readdir(), or a dangling link. */
		if (errno == ENOENT)
			return 0;
		return cm_err_set(err, CM_EIO, path, "cannot stat: %m");
	}
	if (!S_ISREG(st.st_mode))
		return 0;
	if ((v = realloc(t->v, (t->n + 1) * sizeof(*v))) == NULL)
		return cm_err_set(err, CM_ENOMEM, path, "out of memory");
	t->v = v;
	v += t->n;
	memset(v, 0, sizeof(*v));
	if (asprintf(&v->path, "/%s", name) == -1) {
		v->path = NULL;
		return cm_err_set(err, CM_ENOMEM, path, "out of memory");
	}
	if (cm_file_read(path, STATIC_MAX, &data, &len, err) == -1)
		goto fail;
	memset(&o, 0, sizeof(o));
	o.content_type = static_type(name);
	o.cache_control = CC_STATIC;
	o.mtime = st.st_mtime;
	o.gzip = 1;
	o.sendfile = 1;
	if ((v->f = cm_http_file_new(data, len, &o, err)) == NULL)
		goto fail;
	t->n++;
	return 0;
fail:
	free(v->path);
	return -1;
}

int
pub_serve_static_dir(struct pub_serve *s, const char *dir,
    struct cm_err *err)
{
	struct dirent	*de;
	struct table	*t, *old;
	DIR		*d;
	int		 rc = -1;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return cm_err_set(err, CM_ENOMEM, dir, "out of memory");
	if ((d = opendir(dir)) == NULL) {
		cm_err_set(err, CM_EIO, dir, "cannot open: %m");
		goto out;
	}
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' &&
		    add_static(t, dir, de->d_name, err) == -1)
			goto out;
		errno = 0;
	}
	if (errno != 0) {
		cm_err_set(err, CM_EIO, dir, "cannot read: %m");
		goto out;
	}
	qsort(t->v, t->n, sizeof(*t->v), cmp_tent);
	rc = (int)t->n;
	/* The handler looks files up under mu: swapped whole, or not at all. */
	pthread_mutex_lock(&s->mu);
	old = s->statics;
	s->statics = t;
	pthread_mutex_unlock(&s->mu);
	t = old;
out:
	if (d != NULL)
		closedir(d);
	table_free(t);
	free(t);
	return rc;
}

/* Fetches column col (snapshot, delta, notification) of one row. */
static struct cm_http_file *
fetch(struct db *db, const char *col, const char *session, int64_t serial,
    int64_t mtime, const char *cc, struct cm_err *err)
{
	struct cm_http_file_opts o;
	struct db_params	 pa;
	struct db_res		*r = NULL;
	struct cm_http_file	*f = NULL;
	const uint8_t		*d;
	uint8_t			*copy;
	size_t			 len;
	char			 sql[160];

	cm_err_clear(err);
	snprintf(sql, sizeof(sql), "SELECT %s FROM rrdp_serial WHERE "
	    "session_id = $1 AND serial = $2", col);
	db_params_init(&pa);
	pa.binary_results = 1;
	db_param_text(&pa, session);
	db_param_int(&pa, serial);
	if (db_exec(db, sql, &pa, &r, err) != 1 || db_res_isnull(r, 0, 0)) {
		if (err->code == CM_OK)
			cm_err_set(err, CM_ERETRY, col, "gone before loading");
		goto out;
	}
	if (db_res_bytea(r, 0, 0, &d, &len, err) == -1)
		goto out;
	if ((copy = malloc(len ? len : 1)) == NULL) {
		cm_err_set(err, CM_ENOMEM, col, "out of memory");
		goto out;
	}
	memcpy(copy, d, len);
	memset(&o, 0, sizeof(o));
	o.content_type = "application/xml";
	o.cache_control = cc;
	o.mtime = mtime;
	o.gzip = 1;
	o.sendfile = 1;
	f = cm_http_file_new(copy, len, &o, err);
out:
	db_res_free(r);
	return f;
}

/* Adds path to t: the old table's file when it has it, else fetched. */
static int
add_file(struct table *t, const struct table *old, const char *path,
    const char *col, const char *session, int64_t serial, int64_t mtime,
    struct db *db, struct cm_err *err)
{
	struct tent	*e = &t->v[t->n], *o;
	const char	*cc = strcmp(col, "notification") ? CC_IMMUTABLE :
			    CC_NOTIFY;

	o = table_find(old, path);
	if (o != NULL && o->serial == (uint64_t)serial)
		e->f = cm_http_file_ref(o->f);
	else if ((e->f = fetch(db, col, session, serial, mtime, cc,
	    err)) == NULL)
		return -1;
	e->serial = (uint64_t)serial;
	if ((e->path = strdup(path)) == NULL) {
		cm_http_file_unref(e->f);
		return cm_err_set(err, CM_ENOMEM, path, "out of memory");
	}
	t->n++;
	return 0;
}

int
pub_serve_load(struct pub_serve *s, struct db *db, uint64_t *serial,
    int *changed, struct cm_err *err)
{
	struct table	*t = NULL, *old;
	struct db_res	*r = NULL;
	const char	*sess, *p;
	int64_t		 ser, mtime, nserial = 0;
	char		 nsession[37] = "";
	int		 i, n, rc = -1;

	/* Readers hold no lock while loading: only this thread swaps. */
	pthread_mutex_lock(&s->mu);
	old = s->files;
	pthread_mutex_unlock(&s->mu);
	n = db_exec(db, "SELECT r.session_id, r.serial, r.snapshot_uri, "
	    "r.snapshot IS NOT NULL, r.delta_uri, r.delta IS NOT NULL, "
	    "r.notification IS NOT NULL AND x.current, "
	    "extract(epoch FROM r.created_at)::bigint FROM rrdp_serial r "
	    "JOIN rrdp_session x ON x.id = r.session_id WHERE r.snapshot IS "
	    "NOT NULL OR r.delta IS NOT NULL OR (r.notification IS NOT NULL "
	    "AND x.current) ORDER BY r.created_at, r.serial", NULL, &r, err);
	if (n == -1)
		return -1;
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->v = calloc(3 * n + 1, sizeof(*t->v))) == NULL) {
		cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		sess = db_res_text(r, i, 0);
		if (db_res_int64(r, i, 1, &ser, err) == -1 ||
		    db_res_int64(r, i, 7, &mtime, err) == -1)
			goto out;
		if (!strcmp(db_res_text(r, i, 3), "t") &&
		    (p = uri_path(db_res_text(r, i, 2))) != NULL &&
		    add_file(t, old, p, "snapshot", sess, ser, mtime, db,
		    err) == -1)
			goto out;
		if (!strcmp(db_res_text(r, i, 5), "t") &&
		    (p = uri_path(db_res_text(r, i, 4))) != NULL &&
		    add_file(t, old, p, "delta", sess, ser, mtime, db,
		    err) == -1)
			goto out;
		if (!strcmp(db_res_text(r, i, 6), "t")) {
			if (add_file(t, old, s->notify_path, "notification",
			    sess, ser, mtime, db, err) == -1)
				goto out;
			nserial = ser;
			snprintf(nsession, sizeof(nsession), "%s", sess);
		}
	}
	qsort(t->v, t->n, sizeof(*t->v), cmp_tent);
	for (i = 1; i < (int)t->n; i++)
		if (strcmp(t->v[i - 1].path, t->v[i].path) == 0) {
			cm_err_set(err, CM_EDB, t->v[i].path, "two files with "
			    "one path in rrdp_serial");
			goto out;
		}
	if (changed != NULL)
		*changed = nserial != (int64_t)s->serial ||
		    strcmp(nsession, s->session) != 0;
	if (serial != NULL)
		*serial = (uint64_t)nserial;
	pthread_mutex_lock(&s->mu);
	s->files = t;
	s->serial = (uint64_t)nserial;
	memcpy(s->session, nsession, sizeof(s->session));
	pthread_mutex_unlock(&s->mu);
	t = old;
	rc = 0;
out:
	table_free(t);
	free(t);
	db_res_free(r);
	return rc;
}

void
pub_serve_session(struct pub_serve *s, char out[37])
{
	pthread_mutex_lock(&s->mu);
	memcpy(out, s->session, 37);
	pthread_mutex_unlock(&s->mu);
}

void
pub_serve_handle(struct cm_http_req *req, void *arg)
{
	struct pub_serve	*s = arg;
	struct tent		*e;
	struct cm_http_file	*f = NULL;

	pthread_mutex_lock(&s->mu);
	if ((e = table_find(s->statics, req->path)) != NULL ||
	    (e = table_find(s->files, req->path)) != NULL)
		f = cm_http_file_ref(e->f);
	pthread_mutex_unlock(&s->mu);
	if (f == NULL) {
		cm_http_respond_status(req, req->method == CM_HTTP_GET ||
		    req->method == CM_HTTP_HEAD ? 404 : 405);
		return;
	}
	cm_http_file_respond(req, f);
	cm_http_file_unref(f);
}

int
pub_serve_rsync(struct pub_serve *s, struct db *db, const char *root,
    const char *base_uri, int64_t now, struct cm_err *err)
{
	struct pub_rsync_obj	*objs = NULL;
	struct pub_rrdp_doc	*doc = NULL;
	struct pub_rsync_stats	 st;
	struct db_params	 pa;
	struct db_res		*r = NULL;
	const uint8_t		*d;
	size_t			 len, i, n = 0, blen = strlen(base_uri);
	uint64_t		 cur, serial;
	char			 session[37];
	int			 rc = -1;

	pthread_mutex_lock(&s->mu);
	memcpy(session, s->session, sizeof(session));
	serial = s->serial;
	pthread_mutex_unlock(&s->mu);
	if (serial == 0)
		return 0;
	db_params_init(&pa);
	pa.binary_results = 1;
	db_param_text(&pa, session);
	db_param_int(&pa, (int64_t)serial);
	if (db_exec(db, "SELECT snapshot FROM rrdp_serial WHERE session_id = "
	    "$1 AND serial = $2 AND snapshot IS NOT NULL", &pa, &r, err) != 1) {
		if (err->code == CM_OK)
			cm_err_set(err, CM_ERETRY, "rsync", "snapshot gone");
		goto out;
	}
	if (db_res_bytea(r, 0, 0, &d, &len, err) == -1 ||
	    pub_rrdp_parse("snapshot", d, len, SIZE_MAX, PUB_RRDP_SNAPSHOT,
	    &doc, err) == -1)
		goto out;
	if ((objs = calloc(doc->nelems + 1, sizeof(*objs))) == NULL) {
		cm_err_set(err, CM_ENOMEM, "rsync", "out of memory");
		goto out;
	}
	for (i = 0; i < doc->nelems; i++) {
		if (strncmp(doc->elems[i].uri, base_uri, blen) != 0) {
			cm_warn("%s: outside the rsync base %s, not written",
			    doc->elems[i].uri, base_uri);
			continue;
		}
		objs[n].uri = doc->elems[i].uri;
		objs[n].data = doc->elems[i].data;
		objs[n].len = doc->elems[i].len;
		n++;
	}
	if (pub_rsync_current(root, &cur, err) == -1 ||
	    pub_rsync_publish(root, base_uri, cur + 1, objs, n, now, &st,
	    err) == -1)
		goto out;
	cm_info("rsync: tree %" PRIu64 " (RRDP serial %" PRIu64 "): %zu "
	    "objects, %zu written, %zu linked", cur + 1, serial, n, st.written,
	    st.linked);
	if (pub_rsync_cleanup(root, now, 3600, NULL, err) == -1)
		goto out;
	rc = 0;
out:
	free(objs);
	pub_rrdp_doc_free(doc);
	db_res_free(r);
	return rc;
}
