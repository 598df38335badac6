/*
 * cairnd's own rsync tree, without cairn-pubd ([repository] export-dir of
 * cairnd run, and cairnd export DIR): DIR/current is the directory rsyncd
 * serves.
 *
 * A full export writes every object into DIR/current.new, flushes it with
 * syncfs(2) and exchanges it with DIR/current in one rename (RENAME_EXCHANGE),
 * so that a tree on disk that drifted from the database (a file edited,
 * added or removed by hand, a crash) is replaced whole; cairnd run does one
 * when it starts.  After it, run exports incrementally: it remembers the
 * SHA-256 of every file it wrote, compares them with the database's hashes
 * (no object bytes are read for that), writes only what is new or changed
 * (the data to DIR/tmp, fsync, rename into place), removes what was
 * withdrawn, and fsyncs the directories it changed.  New objects are put in
 * place before manifests and withdrawn ones removed after them, so that a
 * manifest never names a file that is not there yet or any more.
 *
 * As in cairn-pubd's trees (publish/pub_rsync.c), a file's mtime is the
 * object's own time (pub_rsync_mtime()) and directories have a fixed one,
 * so rsync's quick check skips what did not change.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ca/main_cairnd.h"
#include "common/cm_buf.h"
#include "common/cm_file.h"
#include "common/cm_log.h"
#include "publish/pub_rsync.h"
#include "publish/pub_uri.h"

#define FILE_MODE	0444
#define DIR_MODE	0755

/* Every current object: the CAs' own and the mirrored offline parents'. */
#define OBJECTS	"SELECT uri, der, hash FROM issued_object WHERE withdrawn_at " \
		"IS NULL UNION ALL SELECT uri, der, hash FROM mirror_object"

struct xent {
	char	*uri;
	uint8_t	 hash[32];
};

struct cairnd_export {
	struct xent	*v;		/* sorted by uri (strcmp) */
	size_t		 n;
	int		 valid;		/* 0: the next export is a full one */
};

struct cairnd_export *
cairnd_export_new(void)
{
	return calloc(1, sizeof(struct cairnd_export));
}

static void
state_clear(struct cairnd_export *x)
{
	for (size_t i = 0; i < x->n; i++)
		free(x->v[i].uri);
	free(x->v);
	x->v = NULL;
	x->n = 0;
	x->valid = 0;
}

void
cairnd_export_free(struct cairnd_export *x)
{
	if (x == NULL)
		return;
	state_clear(x);
	free(x);
}

static int
rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path) == -1 && errno != ENOENT ? -1 : 0;
}

/* rm -rf path without following symlinks; a missing path is fine. */
static int
rm_tree(const char *path, struct cm_err *err)
{
	struct stat st;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : cm_err_set(err, CM_EIO, path,
		    "lstat: %s", strerror(errno));
	if (nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS) == -1)
		return cm_err_set(err, CM_EIO, path, "remove: %s",
		    strerror(errno));
	return 0;
}

static int
fix_dir_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	struct timespec ts[2] = { { PUB_RSYNC_FIXED_MTIME, 0 },
		{ PUB_RSYNC_FIXED_MTIME, 0 } };

	(void)sb;
	(void)ftw;
	if (flag != FTW_DP)
		return 0;
	return utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW);
}

static int
fsync_dir(const char *path, struct cm_err *err)
{
	int fd, rc = 0;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return cm_err_set(err, CM_EIO, path, "open: %s", strerror(errno));
	if (fsync(fd) == -1)
		rc = cm_err_set(err, CM_EIO, path, "fsync: %s", strerror(errno));
	close(fd);
	return rc;
}

/*
 * Writes one object to tmpdir, mode FILE_MODE and its own mtime, and
 * renames it to dst (whose directory is made).  Durability comes from the
 * syncfs(2) at the end of the export; a crash before it leaves a tree that
 * the full export of the next start replaces.
 */
static int
put_file(const char *tmpdir, const char *dst, const char *uri,
    const uint8_t *d, size_t len, struct cm_err *err)
{
	char		 tmp[PATH_MAX], dir[PATH_MAX], *slash;
	struct timespec	 ts[2];
	size_t		 off = 0;
	ssize_t		 w;
	int		 fd;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/put.XXXXXX", tmpdir) >=
	    sizeof(tmp) || (size_t)snprintf(dir, sizeof(dir), "%s", dst) >=
	    sizeof(dir))
		return cm_err_set(err, CM_EINVAL, dst, "path too long");
	if ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		if (cm_mkdirs(dir, DIR_MODE, err) == -1)
			return -1;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1)
		return cm_err_set(err, CM_EIO, tmp, "create: %s", strerror(errno));
	while (off < len) {
		if ((w = write(fd, d + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			cm_err_set(err, CM_EIO, tmp, "write: %s", strerror(errno));
			goto fail;
		}
		off += (size_t)w;
	}
	ts[0].tv_sec = ts[1].tv_sec = (time_t)pub_rsync_mtime(uri, d, len);
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	if (fchmod(fd, FILE_MODE) == -1 || futimens(fd, ts) == -1) {
		cm_err_set(err, CM_EIO, tmp, "chmod/utimens: %s",
		    strerror(errno));
		goto fail;
	}
	if (close(fd) == -1) {
		fd = -1;
		cm_err_set(err, CM_EIO, tmp, "close: %s", strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, dst) == -1) {
		cm_err_set(err, CM_EIO, dst, "rename: %s", strerror(errno));
		goto fail;
	}
	return 0;
fail:
	if (fd != -1)
		close(fd);
	unlink(tmp);
	return -1;
}

/* The path of uri below the tree (uri must lie below base). */
static int
tree_path(const char *tree, const char *base, const char *uri,
    char out[PATH_MAX], struct cm_err *err)
{
	if (pub_uri_check_object(uri, base, err) == -1)
		return cm_err_wrap(err, "export");
	if ((size_t)snprintf(out, PATH_MAX, "%s/%s", tree, uri +
	    strlen(base)) >= PATH_MAX)
		return cm_err_set(err, CM_EINVAL, uri, "path too long");
	return 0;
}

static int
is_mft(const char *uri)
{
	size_t n = strlen(uri);

	return n > 4 && strcmp(uri + n - 4, ".mft") == 0;
}

/*
 * Puts tree in place of root/current: exchanged in one rename when current
 * exists, and the old one removed.  An older layout (current a symlink to
 * trees/N, cairn-pubd's) leaves its trees and content store, removed too.
 */
static int
swap_in(const char *root, const char *tree, struct cm_err *err)
{
	char		cur[PATH_MAX], link[64], old[PATH_MAX];
	struct stat	st;
	ssize_t		n = -1;

	snprintf(cur, sizeof(cur), "%s/current", root);
	if (lstat(cur, &st) == -1) {
		if (errno != ENOENT)
			return cm_err_set(err, CM_EIO, cur, "lstat: %s",
			    strerror(errno));
		if (rename(tree, cur) == -1)
			return cm_err_set(err, CM_EIO, cur, "rename: %s",
			    strerror(errno));
		return fsync_dir(root, err);
	}
	if (S_ISLNK(st.st_mode))
		n = readlink(cur, link, sizeof(link) - 1);
	if (renameat2(AT_FDCWD, tree, AT_FDCWD, cur, RENAME_EXCHANGE) == -1) {
		if (errno != EINVAL && errno != ENOSYS)
			return cm_err_set(err, CM_EIO, cur, "rename (exchange): "
			    "%s", strerror(errno));
		/*
		 * A file system without the exchange: current is missing
		 * between the two renames.
		 */
		snprintf(old, sizeof(old), "%s/current.old", root);
		if (rm_tree(old, err) == -1)
			return -1;
		if (rename(cur, old) == -1 || rename(tree, cur) == -1 ||
		    rename(old, tree) == -1)
			return cm_err_set(err, CM_EIO, cur, "rename: %s",
			    strerror(errno));
	}
	if (fsync_dir(root, err) == -1 || rm_tree(tree, err) == -1)
		return -1;
	if (n > 6 && strncmp(link, "trees/", 6) == 0) {
		cm_info("export: %s: removing the trees of the older layout",
		    root);
		snprintf(old, sizeof(old), "%s/trees", root);
		if (rm_tree(old, err) == -1)
			return -1;
		snprintf(old, sizeof(old), "%s/objects", root);
		if (rm_tree(old, err) == -1)
			return -1;
	}
	return 0;
}

/* Adds uri and hash to x->v (room for it was made by the caller). */
static int
state_add(struct cairnd_export *x, const char *uri, const uint8_t *hash,
    size_t hl, struct cm_err *err)
{
	struct xent *e = &x->v[x->n];

	if (hl != 32)
		return cm_err_set(err, CM_ESTATE, uri, "hash is not SHA-256");
	if ((e->uri = strdup(uri)) == NULL)
		return cm_err_set(err, CM_ENOMEM, "export", "out of memory");
	memcpy(e->hash, hash, 32);
	x->n++;
	return 0;
}

static int
export_full(struct db *db, const char *base, const char *root,
    struct cairnd_export *x, size_t *count, struct cm_err *err)
{
	struct db_res	*r = NULL;
	char		 tree[PATH_MAX], tmpd[PATH_MAX], dst[PATH_MAX];
	const uint8_t	*d, *h;
	size_t		 dl, hl;
	int		 i, n, fd, rc = -1;

	snprintf(tree, sizeof(tree), "%s/current.new", root);
	snprintf(tmpd, sizeof(tmpd), "%s/tmp", root);
	if (rm_tree(tree, err) == -1 || rm_tree(tmpd, err) == -1 ||
	    cm_mkdirs(tree, DIR_MODE, err) == -1 ||
	    cm_mkdirs(tmpd, 0700, err) == -1)
		return -1;
	if ((n = db_exec(db, "SELECT * FROM (" OBJECTS ") o ORDER BY uri "
	    "COLLATE \"C\"", NULL, &r, err)) == -1)
		return -1;
	state_clear(x);
	if ((x->v = calloc((size_t)n + 1, sizeof(*x->v))) == NULL) {
		cm_err_set(err, CM_ENOMEM, "export", "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		const char *uri = db_res_text(r, i, 0);

		if (i > 0 && strcmp(db_res_text(r, i - 1, 0), uri) == 0) {
			cm_err_set(err, CM_ESTATE, uri, "export: URI published "
			    "twice");
			goto out;
		}
		if (tree_path(tree, base, uri, dst, err) == -1 ||
		    db_res_bytea(r, i, 1, &d, &dl, err) == -1 ||
		    db_res_bytea(r, i, 2, &h, &hl, err) == -1 ||
		    put_file(tmpd, dst, uri, d, dl, err) == -1 ||
		    state_add(x, uri, h, hl, err) == -1)
			goto out;
	}
	if (nftw(tree, fix_dir_cb, 16, FTW_DEPTH | FTW_PHYS) == -1) {
		cm_err_set(err, CM_EIO, tree, "utimensat: %s", strerror(errno));
		goto out;
	}
	/* One flush for the whole tree before it is swapped in. */
	if ((fd = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    syncfs(fd) == -1) {
		cm_err_set(err, CM_EIO, tree, "syncfs: %s", strerror(errno));
		if (fd != -1)
			close(fd);
		goto out;
	}
	close(fd);
	if (swap_in(root, tree, err) == -1)
		goto out;
	x->valid = 1;
	*count = (size_t)n;
	rc = 0;
out:
	if (rc == -1)
		state_clear(x);
	db_res_free(r);
	return rc;
}

/* The URIs of list as a text[] literal (quoted, \ and " escaped). */
static int
uri_array(char **list, size_t n, struct cm_buf *b)
{
	if (cm_buf_puts(b, "{") == -1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && cm_buf_puts(b, ",") == -1)
			return -1;
		if (cm_buf_puts(b, "\"") == -1)
			return -1;
		for (const char *s = list[i]; *s != '\0'; s++)
			if ((*s == '"' || *s == '\\' ? cm_buf_puts(b, "\\") :
			    0) == -1 || cm_buf_add(b, s, 1) == -1)
				return -1;
		if (cm_buf_puts(b, "\"") == -1)
			return -1;
	}
	return cm_buf_add(b, "}", 2);
}

static int
cmp_xent(const void *a, const void *b)
{
	return strcmp(((const struct xent *)a)->uri,
	    ((const struct xent *)b)->uri);
}

/*
 * Gives the directories from path's up to tree their fixed mtime again
 * (a rename or removal in them changed it).
 */
static int
fix_parents(const char *tree, const char *path, struct cm_err *err)
{
	struct timespec	ts[2] = { { PUB_RSYNC_FIXED_MTIME, 0 },
		{ PUB_RSYNC_FIXED_MTIME, 0 } };
	char		dir[PATH_MAX], *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	while ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		if (strlen(dir) < strlen(tree))
			break;
		if (utimensat(AT_FDCWD, dir, ts, AT_SYMLINK_NOFOLLOW) == -1) {
			if (errno == ENOENT)
				continue;	/* removed as empty */
			return cm_err_set(err, CM_EIO, dir, "utimensat: %s",
			    strerror(errno));
		}
	}
	return 0;
}

/* Removes path's file and the directories below tree it leaves empty. */
static int
remove_file(const char *tree, const char *path, struct cm_err *err)
{
	char	dir[PATH_MAX], *slash;

	if (unlink(path) == -1 && errno != ENOENT)
		return cm_err_set(err, CM_EIO, path, "unlink: %s",
		    strerror(errno));
	snprintf(dir, sizeof(dir), "%s", path);
	while ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		if (strlen(dir) <= strlen(tree))
			break;
		if (rmdir(dir) == -1)
			break;		/* not empty: the rest is not either */
	}
	return fix_parents(tree, path, err);
}

/*
 * The incremental export (x holds what is on disk): hashes compared, the
 * new and changed objects fetched and put in place, the withdrawn ones
 * removed.  *put and *gone count them.
 */
static int
export_delta(struct db *db, const char *base, const char *root,
    struct cairnd_export *x, size_t *count, size_t *put, size_t *gone,
    struct cm_err *err)
{
	struct db_res		*r = NULL, *f = NULL;
	struct db_params	 p;
	struct cairnd_export	 nx;
	struct cm_buf		 arr = CM_BUF_INIT;
	char			 tree[PATH_MAX], tmpd[PATH_MAX], dst[PATH_MAX];
	char			**want = NULL;
	const uint8_t		*h, *d;
	size_t			 i, nw = 0, hl, dl;
	int			 n, k, m, c, pass, rc = -1;

	memset(&nx, 0, sizeof(nx));
	snprintf(tree, sizeof(tree), "%s/current", root);
	snprintf(tmpd, sizeof(tmpd), "%s/tmp", root);
	if ((n = db_exec(db, "SELECT uri, hash FROM (" OBJECTS ") o ORDER BY "
	    "uri COLLATE \"C\"", NULL, &r, err)) == -1)
		return -1;
	if ((nx.v = calloc((size_t)n + 1, sizeof(*nx.v))) == NULL ||
	    (want = calloc((size_t)n + 1, sizeof(*want))) == NULL)
		goto oom;
	/* Merge the sorted lists: what stays, what is new or changed. */
	for (i = 0, k = 0; k < n; k++) {
		const char *uri = db_res_text(r, k, 0);

		if (k > 0 && strcmp(db_res_text(r, k - 1, 0), uri) == 0) {
			cm_err_set(err, CM_ESTATE, uri, "export: URI published "
			    "twice");
			goto out;
		}
		if (db_res_bytea(r, k, 1, &h, &hl, err) == -1)
			goto out;
		while (i < x->n && strcmp(x->v[i].uri, uri) < 0)
			i++;
		if (i < x->n && strcmp(x->v[i].uri, uri) == 0 && hl == 32 &&
		    memcmp(x->v[i].hash, h, 32) == 0) {
			if (state_add(&nx, uri, h, hl, err) == -1)
				goto out;
			continue;
		}
		want[nw++] = (char *)uri;
	}
	if (nw > 0) {
		if (uri_array(want, nw, &arr) == -1)
			goto oom;
		db_params_init(&p);
		db_param_text(&p, (const char *)arr.data);
		if ((m = db_exec(db, "SELECT uri, der, hash FROM (" OBJECTS ") o "
		    "WHERE uri = ANY($1::text[])", &p, &f, err)) == -1)
			goto out;
		/*
		 * Manifests last, so that what they name is in place first.
		 * A URI withdrawn meanwhile is not returned: the removal
		 * below sees it.
		 */
		for (pass = 0; pass < 2; pass++)
			for (c = 0; c < m; c++) {
				const char *uri = db_res_text(f, c, 0);

				if (is_mft(uri) != pass)
					continue;
				if (tree_path(tree, base, uri, dst, err) == -1 ||
				    db_res_bytea(f, c, 1, &d, &dl, err) == -1 ||
				    db_res_bytea(f, c, 2, &h, &hl, err) == -1 ||
				    put_file(tmpd, dst, uri, d, dl, err) == -1 ||
				    fix_parents(tree, dst, err) == -1 ||
				    state_add(&nx, uri, h, hl, err) == -1)
					goto out;
				(*put)++;
			}
	}
	qsort(nx.v, nx.n, sizeof(*nx.v), cmp_xent);
	/* What is on disk and no longer current goes, after the manifests. */
	for (i = 0, k = 0; i < x->n; i++) {
		while (k < n && strcmp(db_res_text(r, k, 0), x->v[i].uri) < 0)
			k++;
		if (k < n && strcmp(db_res_text(r, k, 0), x->v[i].uri) == 0) {
			/* Current, but withdrawn before its fetch: look again. */
			if (bsearch(&x->v[i], nx.v, nx.n, sizeof(*nx.v),
			    cmp_xent) == NULL)
				x->valid = 0;
			continue;
		}
		if (tree_path(tree, base, x->v[i].uri, dst, err) == -1 ||
		    remove_file(tree, dst, err) == -1)
			goto out;
		(*gone)++;
	}
	if (*put + *gone > 0) {
		if ((k = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
		    syncfs(k) == -1) {
			cm_err_set(err, CM_EIO, tree, "syncfs: %s",
			    strerror(errno));
			if (k != -1)
				close(k);
			goto out;
		}
		close(k);
	}
	nx.valid = x->valid;
	state_clear(x);
	*x = nx;
	memset(&nx, 0, sizeof(nx));
	*count = (size_t)n;
	rc = 0;
	goto out;
oom:
	cm_err_set(err, CM_ENOMEM, "export", "out of memory");
out:
	if (rc == -1)
		state_clear(x);		/* the next export is a full one */
	state_clear(&nx);
	free(want);
	cm_buf_free(&arr);
	db_res_free(f);
	db_res_free(r);
	return rc;
}

int
cairnd_export(struct db *db, const char *base, const char *root,
    struct cairnd_export *x, struct cm_err *err)
{
	struct cairnd_export	 once;
	size_t			 n = 0, put = 0, gone = 0;
	int			 rc;

	if (pub_uri_check_base(base, err) == -1)
		return cm_err_wrap(err, "export");
	if (cm_mkdirs(root, DIR_MODE, err) == -1)
		return -1;
	if (x != NULL && x->valid) {
		if ((rc = export_delta(db, base, root, x, &n, &put, &gone,
		    err)) == 0 && put + gone > 0)
			cm_info("exported %s/current: %zu objects, %zu written, "
			    "%zu removed", root, n, put, gone);
		return rc;
	}
	memset(&once, 0, sizeof(once));
	rc = export_full(db, base, root, x != NULL ? x : &once, &n, err);
	state_clear(&once);
	if (rc == 0)
		cm_info("exported %s/current: %zu objects, all written", root,
		    n);
	return rc;
}
