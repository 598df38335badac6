/* The RRDP serial builder of the publication leader. */
#include "publish/pub_build_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cm_buf.h"
#include "common/cm_enc.h"
#include "common/cm_log.h"
#include "publish/pub_hook.h"
#include "publish/pub_index.h"
#include "publish/pub_rrdp.h"

double
pub_build_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int
pub_build_nomem(struct cm_err *err, const char *part)
{
	return cm_err_set(err, CM_ENOMEM, NULL, "%s: out of memory", part);
}

/* The serial builder's out of memory. */
static int
nomem(struct cm_err *err)
{
	return pub_build_nomem(err, "serial builder");
}

struct pub_build *
pub_build_new(const struct pub_build_conf *conf, struct cm_err *err)
{
	struct pub_build	*b;
	size_t			 n = strlen(conf->rrdp_base);

	if (strncmp(conf->rrdp_base, "https://", 8) != 0 || n < 10 ||
	    conf->rrdp_base[n - 1] != '/') {
		cm_err_set(err, CM_EINVAL, conf->rrdp_base, "RRDP base URI must "
		    "be https://host[:port]/[path/] ending in '/'");
		return NULL;
	}
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		nomem(err);
		return NULL;
	}
	b->conf = *conf;
	b->base = strdup(conf->rrdp_base);
	if (b->base == NULL || asprintf(&b->notify_uri, "%snotification.xml",
	    conf->rrdp_base) == -1) {
		b->notify_uri = NULL;
		pub_build_free(b);
		nomem(err);
		return NULL;
	}
	b->conf.rrdp_base = b->base;
	if (b->conf.max_deltas == 0)
		b->conf.max_deltas = 500;
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->cv, NULL);
	return b;
}

void
pub_build_free(struct pub_build *b)
{
	if (b == NULL)
		return;
	if (b->has_worker) {
		pthread_mutex_lock(&b->mu);
		b->stop = 1;
		pthread_cond_broadcast(&b->cv);
		pthread_mutex_unlock(&b->mu);
		pthread_join(b->worker, NULL);
	}
	pub_index_free(b->job.ix);
	pub_index_free(b->ix);
	cm_buf_free(&b->snapbuf);
	pthread_cond_destroy(&b->cv);
	pthread_mutex_destroy(&b->mu);
	free(b->dsn);
	free(b->base);
	free(b->notify_uri);
	free(b);
}

const char *
pub_build_session(const struct pub_build *b)
{
	return b->session;
}

uint64_t
pub_build_serial(const struct pub_build *b)
{
	return b->serial;
}

static int
cmp_chg(const void *a, const void *b)
{
	const struct chg	*x = a, *y = b;
	int			 c = strcmp(x->uri, y->uri);

	if (c != 0)
		return c;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* ---- one step ---- */

static void
step_reset(struct step_arg *a)
{
	db_res_free(a->pending);
	free(a->chg);
	free(a->net);
	pub_index_free(a->ix);
	cm_buf_free(&a->delta);
	cm_buf_free(&a->idlist);
	a->pending = NULL;
	a->chg = NULL;
	a->net = NULL;
	a->ix = NULL;
	a->nchg = a->nnet = a->held = 0;
	a->serial = 0;
	a->release = 0;
}

/* Reads the pending changes (locked) and a released hold, if any. */
static int
read_pending(struct db *db, struct step_arg *a, struct cm_err *err)
{
	struct db_params	 pa;
	struct db_res		*r = NULL;
	int64_t			 limit = INT64_MAX;
	int			 i, n;

	n = db_exec(db, "SELECT id, last_change FROM pub_hold WHERE released_at "
	    "IS NOT NULL AND serial IS NULL ORDER BY id LIMIT 1", NULL, &r, err);
	if (n == -1)
		return -1;
	if (n == 1 && (db_res_int64(r, 0, 0, &a->release, err) == -1 ||
	    db_res_int64(r, 0, 1, &limit, err) == -1)) {
		db_res_free(r);
		return -1;
	}
	db_res_free(r);
	db_params_init(&pa);
	pa.binary_results = 1;
	db_param_int(&pa, limit);
	n = db_exec(db, "SELECT id, publisher_id, uri, data FROM pub_change "
	    "WHERE serial IS NULL AND id <= $1 ORDER BY id FOR UPDATE", &pa,
	    &a->pending, err);
	if (n == -1)
		return -1;
	if ((a->chg = calloc(n + 1, sizeof(*a->chg))) == NULL)
		return nomem(err);
	if (cm_buf_puts(&a->idlist, "{") == -1)
		return nomem(err);
	for (i = 0; i < n; i++) {
		struct chg *c = &a->chg[i];

		if (db_res_int64(a->pending, i, 0, &c->id, err) == -1 ||
		    db_res_int64(a->pending, i, 1, &c->publisher, err) == -1)
			return -1;
		c->uri = db_res_text(a->pending, i, 2);
		if (!db_res_isnull(a->pending, i, 3) &&
		    db_res_bytea(a->pending, i, 3, &c->data, &c->len, err) == -1)
			return -1;
		if (cm_buf_printf(&a->idlist, "%s%" PRId64, i ? "," : "",
		    c->id) == -1)
			return nomem(err);
	}
	if (cm_buf_puts(&a->idlist, "}") == -1 || cm_buf_cstr(&a->idlist) ==
	    NULL)
		return nomem(err);
	a->nchg = n;
	return 0;
}

/*
 * Net effect of the batch per URI (the last change of a URI wins), against
 * the image; URIs whose object ends up unchanged are left out.
 */
static int
make_nets(struct step_arg *a, struct cm_err *err)
{
	const struct pub_index	*ix = a->b->ix;
	struct chg		*v;
	size_t			 i;

	if ((v = malloc((a->nchg + 1) * sizeof(*v))) == NULL ||
	    (a->net = calloc(a->nchg + 1, sizeof(*a->net))) == NULL) {
		free(v);
		return nomem(err);
	}
	memcpy(v, a->chg, a->nchg * sizeof(*v));
	qsort(v, a->nchg, sizeof(*v), cmp_chg);
	for (i = 0; i < a->nchg; i++) {
		struct net	*nt = &a->net[a->nnet];
		uint8_t		 h[32];

		if (i + 1 < a->nchg && strcmp(v[i].uri, v[i + 1].uri) == 0)
			continue;	/* a later change of the URI wins */
		memset(nt, 0, sizeof(*nt));
		nt->uri = v[i].uri;
		nt->publisher = v[i].publisher;
		nt->has_old = pub_index_get(ix, nt->uri, nt->old, NULL);
		nt->data = v[i].data;
		nt->len = v[i].len;
		if (nt->data == NULL && !nt->has_old)
			continue;
		if (nt->data != NULL && nt->has_old) {
			cm_sha256(nt->data, nt->len, h);
			if (memcmp(h, nt->old, 32) == 0)
				continue;
		}
		a->nnet++;
	}
	free(v);
	return 0;
}

/* Marks the changes of the batch as part of serial. */
static int
mark_changes(struct db *db, struct step_arg *a, uint64_t serial,
    struct cm_err *err)
{
	struct db_params	pa;

	db_params_init(&pa);
	db_param_int(&pa, (int64_t)serial);
	db_param_text(&pa, (const char *)a->idlist.data);
	return db_exec(db, "UPDATE pub_change SET serial = $1 WHERE id = "
	    "ANY($2::bigint[])", &pa, NULL, err) == -1 ? -1 : 0;
}

static int
write_delta(struct step_arg *a, const char *session, struct cm_err *err)
{
	struct pub_rrdp_writer	w;
	size_t			i;
	int			rc = 0;

	if (pub_rrdp_begin(&w, &a->delta, PUB_RRDP_DELTA, session, a->serial,
	    err) == -1)
		return -1;
	for (i = 0; i < a->nnet && rc == 0; i++) {
		const struct net *nt = &a->net[i];

		if (nt->data != NULL)
			rc = pub_rrdp_write_publish(&w, nt->uri, nt->has_old ?
			    nt->old : NULL, nt->data, nt->len, err);
		else
			rc = pub_rrdp_write_withdraw(&w, nt->uri, nt->old, err);
	}
	return rc == 0 ? pub_rrdp_end(&w, err) : -1;
}

/* The new index and the delta: the cost of the batch, not of the image. */
static int
build_files(struct step_arg *a, struct cm_err *err)
{
	struct pub_build	*b = a->b;
	struct pub_index_change	*c;
	size_t			 i;
	int			 rc;

	if ((c = calloc(a->nnet + 1, sizeof(*c))) == NULL)
		return nomem(err);
	for (i = 0; i < a->nnet; i++) {
		c[i].uri = a->net[i].uri;
		c[i].publisher = a->net[i].publisher;
		c[i].data = a->net[i].data;
		c[i].len = a->net[i].len;
	}
	rc = pub_index_apply(b->ix, c, a->nnet, &a->ix, err);
	free(c);
	if (rc == -1)
		return -1;
	if (a->serial == 1)
		return 0;
	if (write_delta(a, b->session, err) == -1 ||
	    pub_rrdp_file_uri(b->base, b->session, a->serial, PUB_RRDP_DELTA,
	    a->delta_uri, sizeof(a->delta_uri), err) == -1)
		return -1;
	return 0;
}

/*
 * Marks the released hold used by this step as done, also when its batch
 * published nothing: otherwise later steps would stay limited to it.
 */
static int
release_done(struct db *db, struct step_arg *a, uint64_t serial,
    struct cm_err *err)
{
	struct db_params	pa;

	if (a->release == 0)
		return 0;
	db_params_init(&pa);
	db_param_int(&pa, (int64_t)serial);
	db_param_int(&pa, a->release);
	return db_exec(db, "UPDATE pub_hold SET serial = $1 WHERE id = $2",
	    &pa, NULL, err) == -1 ? -1 : 0;
}

/* The serial's row (delta, digest) and its changes to pub_object. */
static int
store(struct db *db, struct step_arg *a, struct cm_err *err)
{
	struct pub_build	*b = a->b;
	struct db_params	 pa;
	uint8_t			 dh[32], digest[32];
	size_t			 i;

	if (a->delta.len > 0)
		cm_sha256(a->delta.data, a->delta.len, dh);
	pub_index_digest(a->ix, digest);
	db_params_init(&pa);
	db_param_text(&pa, b->session);
	db_param_int(&pa, (int64_t)a->serial);
	db_param_text(&pa, a->delta.len ? a->delta_uri : NULL);
	db_param_bytea(&pa, a->delta.len ? dh : NULL, 32);
	db_param_bytea(&pa, a->delta.len ? a->delta.data : NULL, a->delta.len);
	db_param_bytea(&pa, digest, 32);
	db_param_int(&pa, cm_clock_now(b->conf.clock));
	if (db_exec(db, "INSERT INTO rrdp_serial (session_id, serial, "
	    "delta_uri, delta_hash, delta, state_digest, created_at) VALUES "
	    "($1, $2, $3, $4, $5, $6, to_timestamp($7))", &pa, NULL,
	    err) == -1)
		return -1;
	for (i = 0; i < a->nnet; i++) {
		const struct net *nt = &a->net[i];
		uint8_t h[32];

		db_params_init(&pa);
		db_param_text(&pa, nt->uri);
		if (nt->data == NULL) {
			if (db_exec(db, "DELETE FROM pub_object WHERE uri = $1",
			    &pa, NULL, err) == -1)
				return -1;
			continue;
		}
		cm_sha256(nt->data, nt->len, h);
		db_param_int(&pa, nt->publisher);
		db_param_bytea(&pa, h, 32);
		db_param_bytea(&pa, nt->data, nt->len);
		db_param_int(&pa, (int64_t)a->serial);
		if (db_exec(db, "INSERT INTO pub_object (uri, publisher_id, hash, "
		    "data, serial) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (uri) "
		    "DO UPDATE SET publisher_id = $2, hash = $3, data = $4, "
		    "serial = $5, updated_at = now()", &pa, NULL, err) == -1)
			return -1;
	}
	if (mark_changes(db, a, a->serial, err) == -1)
		return -1;
	return release_done(db, a, a->serial, err);
}

static int
step_fn(struct db *db, void *v, struct cm_err *err)
{
	struct step_arg	*a = v;
	struct pub_build *b = a->b;
	char		 reason[512];

	step_reset(a);
	if (read_pending(db, a, err) == -1)
		return -1;
	if (a->nchg > 0)
		pub_hook_pause("locked", b->serial + 1);
	if (a->nchg == 0 && b->serial > 0)
		return release_done(db, a, b->serial, err);
	if (make_nets(a, err) == -1)
		return -1;
	if (b->serial > 0 && a->release == 0 && a->nnet > 0 &&
	    pub_guard_trips(b, a, reason, sizeof(reason)))
		return pub_guard_hold(db, a, reason, err);
	if (a->release == 0 && db_exec(db, "UPDATE pub_hold SET released_at = "
	    "now(), released_by = 'guard: batch no longer trips' WHERE "
	    "released_at IS NULL", NULL, NULL, err) == -1)
		return -1;
	if (a->nnet == 0 && b->serial > 0) {
		/* Changes that change nothing: consumed, no new serial. */
		if (mark_changes(db, a, b->serial, err) == -1)
			return -1;
		return release_done(db, a, b->serial, err);
	}
	a->serial = b->serial + 1;
	if (build_files(a, err) == -1)
		return -1;
	if (store(db, a, err) == -1)
		return -1;
	pub_hook_pause("stored", a->serial);
	return 0;
}

int
pub_build_step(struct pub_build *b, struct db *db,
    struct pub_build_result *res, struct cm_err *err)
{
	struct step_arg	a;
	double		t0;
	int		k;

	if (res != NULL)
		memset(res, 0, sizeof(*res));
	if (b->loaded && (k = pub_build_session_current(b, db, err)) != 1) {
		if (k == -1)
			return -1;
		cm_warn("RRDP: session %s is no longer current", b->session);
		b->loaded = 0;
	}
	if (!b->loaded && pub_build_load(b, db, err) == -1)
		return -1;
	memset(&a, 0, sizeof(a));
	a.b = b;
	t0 = pub_build_now_ms();
	if (db_tx(db, NULL, step_fn, &a, err) == -1) {
		/* The outcome of a lost COMMIT is unknown: reload. */
		b->loaded = 0;
		step_reset(&a);
		return cm_err_wrap(err, "RRDP serial");
	}
	if (res != NULL) {
		res->changes = a.nchg;
		res->held = a.held;
		res->serial = a.ix != NULL ? a.serial : 0;
		res->delta_len = a.delta.len;
		res->build_ms = pub_build_now_ms() - t0;
	}
	if (a.ix == NULL) {
		step_reset(&a);
		return 0;
	}
	pub_index_free(b->ix);
	b->ix = a.ix;
	a.ix = NULL;
	b->serial = a.serial;
	pub_build_queue(b, b->ix, b->session, b->serial);
	cm_info("RRDP: serial %" PRIu64 " of session %s: %zu changes, "
	    "delta %zu bytes", b->serial, b->session, a.nchg, a.delta.len);
	step_reset(&a);
	return 1;
}
