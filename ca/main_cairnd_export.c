/*
 * cairnd's own rsync tree, without cairn-pubd ([repository] export-dir of
 * cairnd run, and cairnd export DIR): DIR/current is the directory rsyncd
 * serves, a symlink to one complete tree (publish/pub_rsync.c, the writer
 * cairn-pubd uses too).
 *
 * Each export builds a new tree from one consistent view of the database
 * and swaps it in with one rename, so that an rsync client sees one
 * repository state from start to end of its transfer, never a manifest
 * beside files of another state; trees stay for ten minutes after they
 * stop being current, for the transfers that started on them.  Building a
 * tree costs one link(2) per unchanged object: its bytes are read from the
 * database only when the content store does not hold them yet (new or
 * changed objects), so an export reads a URI and a SHA-256 per object.
 *
 * The first export of a process reads every content-store entry and drops
 * those that no longer match their hash (a tree's file edited by hand
 * edits the store entry it is linked to), and writes a whole new tree, so
 * that drift on disk (files edited, removed or added by hand) is repaired.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ca/main_cairnd.h"
#include "common/cm_buf.h"
#include "common/cm_file.h"
#include "common/cm_log.h"
#include "publish/pub_rsync.h"
#include "publish/pub_uri.h"

/* Seconds a tree stays after it stopped being current. */
#define TREE_GRACE	600

/* Every current object: the CAs' own and the mirrored offline parents'. */
#define OBJECTS	"SELECT uri, der, hash FROM issued_object WHERE withdrawn_at " \
		"IS NULL UNION ALL SELECT uri, der, hash FROM mirror_object"

struct cairnd_export {
	int	verified;	/* 0: check the content store first */
};

struct cairnd_export *
cairnd_export_new(void)
{
	return calloc(1, sizeof(struct cairnd_export));
}

void
cairnd_export_free(struct cairnd_export *x)
{
	free(x);
}

/* What one export reads, in one REPEATABLE READ transaction. */
struct xread {
	const char	*root;
	struct db_res	*all;	/* uri, hash of every object, by uri */
	struct db_res	*data;	/* uri, der of those not stored, by uri */
	size_t		 nwant;
};

static void
xread_clear(struct xread *a)
{
	db_res_free(a->all);
	db_res_free(a->data);
	a->all = a->data = NULL;
	a->nwant = 0;
}

static int
putc_buf(struct cm_buf *b, char c)
{
	return cm_buf_add(b, &c, 1);
}

/* Appends s to b as an element of a PostgreSQL text array literal. */
static int
array_elem(struct cm_buf *b, const char *s)
{
	if (cm_buf_puts(b, b->len > 1 ? ",\"" : "\"") == -1)
		return -1;
	for (; *s != '\0'; s++)
		if (((*s == '"' || *s == '\\') && putc_buf(b, '\\') == -1) ||
		    putc_buf(b, *s) == -1)
			return -1;
	return putc_buf(b, '"');
}

/*
 * The URIs and hashes of every object, then the bytes of those whose
 * content the store lacks, both from the same snapshot (REPEATABLE READ:
 * a manifest and the files it names come from one state).
 */
static int
xread_tx(struct db *db, void *arg, struct cm_err *err)
{
	struct xread		*a = arg;
	struct db_params	 p;
	struct cm_buf		 arr = CM_BUF_INIT;
	const uint8_t		*h;
	size_t			 hl;
	int			 i, n, rc = -1;

	xread_clear(a);
	if ((n = db_exec(db, "SELECT uri, hash FROM (" OBJECTS ") o ORDER BY "
	    "uri COLLATE \"C\"", NULL, &a->all, err)) == -1)
		return -1;
	if (putc_buf(&arr, '{') == -1)
		goto oom;
	for (i = 0; i < n; i++) {
		if (db_res_bytea(a->all, i, 1, &h, &hl, err) == -1)
			goto out;
		if (hl != 32) {
			cm_err_set(err, CM_ESTATE, db_res_text(a->all, i, 0),
			    "export: hash is not SHA-256");
			goto out;
		}
		if (pub_rsync_stored(a->root, h))
			continue;
		if (array_elem(&arr, db_res_text(a->all, i, 0)) == -1)
			goto oom;
		a->nwant++;
	}
	if (cm_buf_puts(&arr, "}") == -1 || putc_buf(&arr, '\0') == -1)
		goto oom;
	if (a->nwant > 0) {
		db_params_init(&p);
		db_param_text(&p, (const char *)arr.data);
		if (db_exec(db, "SELECT uri, der FROM (" OBJECTS ") o WHERE uri "
		    "= ANY($1::text[]) ORDER BY uri COLLATE \"C\"", &p, &a->data,
		    err) == -1)
			goto out;
	}
	rc = 0;
	goto out;
oom:
	cm_err_set(err, CM_ENOMEM, "export", "out of memory");
out:
	cm_buf_free(&arr);
	return rc;
}

int
cairnd_export(struct db *db, const char *base, const char *root,
    struct cairnd_export *x, struct cm_err *err)
{
	struct xread		 a;
	struct pub_rsync_obj	*objs = NULL;
	struct pub_rsync_stats	 st;
	uint64_t		 serial;
	size_t			 bad = 0, hl;
	int			 i, k, n, m, rc = -1;

	memset(&a, 0, sizeof(a));
	a.root = root;
	if (pub_uri_check_base(base, err) == -1)
		return cm_err_wrap(err, "export");
	if (cm_mkdirs(root, 0755, err) == -1 ||
	    pub_rsync_current(root, &serial, err) == -1)
		return -1;
	if (x == NULL || !x->verified) {
		if (pub_rsync_verify_store(root, &bad, err) == -1)
			return cm_err_wrap(err, "export");
		if (bad > 0)
			cm_warn("export: %s: %zu damaged or stale content-store "
			    "entries removed; they are written again", root,
			    bad);
		if (x != NULL)
			x->verified = 1;
	}
	if (db_tx(db, "REPEATABLE READ", xread_tx, &a, err) == -1)
		goto out;
	n = db_res_rows(a.all);
	m = a.data != NULL ? db_res_rows(a.data) : 0;
	if ((objs = calloc((size_t)n + 1, sizeof(*objs))) == NULL) {
		cm_err_set(err, CM_ENOMEM, "export", "out of memory");
		goto out;
	}
	/* Both results are sorted by URI: one merge pass. */
	for (i = 0, k = 0; i < n; i++) {
		objs[i].uri = db_res_text(a.all, i, 0);
		if (db_res_bytea(a.all, i, 1, &objs[i].hash, &hl, err) == -1)
			goto out;
		if (k < m && strcmp(db_res_text(a.data, k, 0),
		    objs[i].uri) == 0) {
			if (db_res_bytea(a.data, k, 1, &objs[i].data,
			    &objs[i].len, err) == -1)
				goto out;
			k++;
		} else
			objs[i].stored = 1;
	}
	if (k != m || (size_t)m != a.nwant) {
		cm_err_set(err, CM_ESTATE, root, "export: %zu objects to write, "
		    "%d read (a URI published twice?)", a.nwant, m);
		goto out;
	}
	if (pub_rsync_publish(root, base, serial + 1, objs, (size_t)n,
	    (int64_t)time(NULL), &st, err) == -1 ||
	    pub_rsync_cleanup(root, (int64_t)time(NULL), TREE_GRACE, NULL,
	    err) == -1)
		goto out;
	cm_info("exported %s/current: %d objects, %zu written, %zu unchanged",
	    root, n, st.written, st.linked);
	rc = 0;
out:
	if (rc == -1 && x != NULL)
		x->verified = 0;	/* check the store again next time */
	free(objs);
	xread_clear(&a);
	return rc;
}
