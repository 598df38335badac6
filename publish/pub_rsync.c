/* The rsync tree writer: content store, tree build, atomic swap, cleanup. */
#include "publish/pub_rsync.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cm_enc.h"
#include "common/cm_file.h"
#include "publish/pub_uri.h"

#define DIR_MODE	0755
#define FILE_MODE	0444

static int
pathf(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* snprintf into a PATH_MAX buffer; -1 if the path does not fit. */
static int
pathf(char *out, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(out, PATH_MAX, fmt, ap);
	va_end(ap);
	return n < 0 || n >= PATH_MAX ? -1 : 0;
}

static int
rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path) == -1 && errno != ENOENT ? -1 : 0;
}

/* rm -rf path (no symlink is followed).  Missing path is fine. */
static int
rm_tree(const char *path, struct cm_err *err)
{
	struct stat	st;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : cm_err_set(err, CM_EIO, path,
		    "lstat: %s", strerror(errno));
	if (nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS) == -1)
		return cm_err_set(err, CM_EIO, path, "remove: %s",
		    strerror(errno));
	return 0;
}

static int
fsync_path(const char *path, struct cm_err *err)
{
	int	fd, rc = 0;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return cm_err_set(err, CM_EIO, path, "open: %s", strerror(errno));
	if (fsync(fd) == -1)
		rc = cm_err_set(err, CM_EIO, path, "fsync: %s", strerror(errno));
	close(fd);
	return rc;
}

/* The content-store path of hash under root: 0, or -1 when too long. */
static int
store_path(const char *root, const uint8_t hash[32], char spath[PATH_MAX])
{
	char	hex[65];

	cm_hex_encode(hash, 32, hex);
	return pathf(spath, "%s/objects/%.2s/%s", root, hex, hex + 2);
}

int
pub_rsync_stored(const char *root, const uint8_t hash[32])
{
	char		spath[PATH_MAX];
	struct stat	st;

	return store_path(root, hash, spath) == 0 && stat(spath, &st) == 0 &&
	    S_ISREG(st.st_mode);
}

/* Whether the store entry dir/name holds the bytes its name says. */
static int
store_entry_ok(const char *path, const char *dirhex, const char *name)
{
	struct stat	 st;
	uint8_t		*data = NULL, hash[32];
	char		 hex[65];
	size_t		 len;
	struct cm_err	 err;
	int		 ok;

	if (lstat(path, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & 0777) != FILE_MODE)
		return 0;
	if (cm_file_read(path, SIZE_MAX, &data, &len, &err) == -1)
		return 0;
	cm_sha256(data, len, hash);
	free(data);
	cm_hex_encode(hash, 32, hex);
	ok = strncmp(hex, dirhex, 2) == 0 && strcmp(hex + 2, name) == 0;
	return ok;
}

int
pub_rsync_verify_store(const char *root, size_t *removed,
    struct cm_err *err)
{
	char		 dir[PATH_MAX], path[PATH_MAX], dirhex[3];
	DIR		*d;
	struct dirent	*de;
	size_t		 n = 0;

	for (int i = 0; i < 256; i++) {
		snprintf(dirhex, sizeof(dirhex), "%02x", i);
		if (pathf(dir, "%s/objects/%s", root, dirhex) == -1)
			return cm_err_set(err, CM_EINVAL, root, "path too long");
		if ((d = opendir(dir)) == NULL) {
			if (errno == ENOENT)
				continue;
			return cm_err_set(err, CM_EIO, dir, "opendir: %s",
			    strerror(errno));
		}
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			if (pathf(path, "%s/%s", dir, de->d_name) == -1)
				continue;
			/* A stale temporary file, or a damaged entry. */
			if (strlen(de->d_name) == 62 &&
			    store_entry_ok(path, dirhex, de->d_name))
				continue;
			if (unlink(path) == -1 && errno != ENOENT) {
				cm_err_set(err, CM_EIO, path, "unlink: %s",
				    strerror(errno));
				closedir(d);
				return -1;
			}
			n++;
		}
		closedir(d);
	}
	if (removed != NULL)
		*removed = n;
	return 0;
}

int
pub_rsync_current(const char *root, uint64_t *serial, struct cm_err *err)
{
	char		path[PATH_MAX], link[PATH_MAX], *end;
	ssize_t		n;
	unsigned long long v;

	*serial = 0;
	if (pathf(path, "%s/current", root) == -1)
		return cm_err_set(err, CM_EINVAL, root, "path too long");
	if ((n = readlink(path, link, sizeof(link) - 1)) == -1)
		return errno == ENOENT ? 0 : cm_err_set(err, CM_EIO, path,
		    "readlink: %s", strerror(errno));
	link[n] = '\0';
	if (strncmp(link, "trees/", 6) != 0 || link[6] < '1' || link[6] > '9')
		return cm_err_set(err, CM_EIO, path, "unexpected target %.200s",
		    link);
	errno = 0;
	v = strtoull(link + 6, &end, 10);
	if (*end != '\0' || errno != 0)
		return cm_err_set(err, CM_EIO, path, "unexpected target %.200s",
		    link);
	*serial = v;
	return 0;
}

/* An object of the tree being built, by its path below the tree root. */
struct ent {
	const struct pub_rsync_obj	*o;
	const char			*rel;
};

static int
cmp_ent(const void *a, const void *b)
{
	return strcmp(((const struct ent *)a)->rel, ((const struct ent *)b)->rel);
}

/* Writes new content to the store atomically, with its mtime. */
static int
store_put(const char *spath, const struct pub_rsync_obj *o, int64_t mtime,
    struct cm_err *err)
{
	char		 tmp[PATH_MAX];
	struct timespec	 ts[2];
	const uint8_t	*p = o->data;
	size_t		 left = o->len;
	ssize_t		 w;
	int		 fd;

	if (pathf(tmp, "%s.tmpXXXXXX", spath) == -1)
		return cm_err_set(err, CM_EINVAL, spath, "path too long");
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1)
		return cm_err_set(err, CM_EIO, tmp, "create: %s", strerror(errno));
	while (left > 0) {
		if ((w = write(fd, p, left)) == -1) {
			if (errno == EINTR)
				continue;
			cm_err_set(err, CM_EIO, tmp, "write: %s", strerror(errno));
			goto fail;
		}
		p += w;
		left -= (size_t)w;
	}
	ts[0].tv_sec = ts[1].tv_sec = (time_t)mtime;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	if (fchmod(fd, FILE_MODE) == -1 || futimens(fd, ts) == -1) {
		cm_err_set(err, CM_EIO, tmp, "chmod/utimens: %s", strerror(errno));
		goto fail;
	}
	if (close(fd) == -1) {
		fd = -1;
		cm_err_set(err, CM_EIO, tmp, "close: %s", strerror(errno));
		goto fail;
	}
	fd = -1;
	/* Durability comes from the syncfs(2) before the tree is renamed. */
	if (rename(tmp, spath) == -1) {
		cm_err_set(err, CM_EIO, spath, "rename: %s", strerror(errno));
		goto fail;
	}
	return 0;
fail:
	if (fd != -1)
		close(fd);
	unlink(tmp);
	return -1;
}

/*
 * Puts one object at dst: a link to its store entry, which is written
 * first if the content is new.  *fresh says whether it was written.
 */
static int
place(const char *root, const char *dst, const struct pub_rsync_obj *o,
    int *fresh, struct cm_err *err)
{
	uint8_t	hash[32];
	char	spath[PATH_MAX];
	int64_t	mtime;

	*fresh = 0;
	if (o->hash == NULL)
		cm_sha256(o->data, o->len, hash);
	if (store_path(root, o->hash != NULL ? o->hash : hash, spath) == -1)
		return cm_err_set(err, CM_EINVAL, root, "path too long");
	if (link(spath, dst) == 0)
		return 0;
	if (o->stored)
		/* Only this root's single writer removes entries. */
		return cm_err_set(err, CM_ESTATE, o->uri, "rsync tree: %s: "
		    "not in the content store: %s", spath, errno == ENOENT ?
		    "missing" : strerror(errno));
	if (errno == ENOENT) {
		mtime = o->mtime != 0 ? o->mtime :
		    pub_rsync_mtime(o->uri, o->data, o->len);
		if (store_put(spath, o, mtime, err) == -1)
			return -1;
		*fresh = 1;
		if (link(spath, dst) == 0)
			return 0;
	}
	if (errno == EMLINK) {
		/* Too many trees share the inode: give this tree a copy. */
		mtime = o->mtime != 0 ? o->mtime :
		    pub_rsync_mtime(o->uri, o->data, o->len);
		*fresh = 1;
		return store_put(dst, o, mtime, err);
	}
	return cm_err_set(err, CM_EIO, dst, "link: %s", strerror(errno));
}

static int
prepare(const char *root, struct cm_err *err)
{
	char	path[PATH_MAX];

	if (pathf(path, "%s/trees", root) == -1)
		return cm_err_set(err, CM_EINVAL, root, "path too long");
	if (cm_mkdirs(path, DIR_MODE, err) == -1)
		return -1;
	for (int i = 0; i < 256; i++) {
		if (pathf(path, "%s/objects/%02x", root, i) == -1)
			return cm_err_set(err, CM_EINVAL, root, "path too long");
		if (mkdir(path, DIR_MODE) == -1 && errno != EEXIST &&
		    cm_mkdirs(path, DIR_MODE, err) == -1)
			return -1;
	}
	return 0;
}

/* Sorted entries with their paths below base; checks URIs and uniqueness. */
static int
entries(const char *base, const struct pub_rsync_obj *objs, size_t n,
    struct ent **out, struct cm_err *err)
{
	struct ent	*v;
	size_t		 i, bl = strlen(base);

	if ((v = calloc(n + 1, sizeof(*v))) == NULL)
		return cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
	for (i = 0; i < n; i++) {
		if (pub_uri_check_object(objs[i].uri, base, err) == -1 ||
		    (objs[i].data == NULL && objs[i].len > 0) ||
		    (objs[i].stored && objs[i].hash == NULL)) {
			free(v);
			return cm_err_wrap(err, "rsync tree");
		}
		v[i].o = &objs[i];
		v[i].rel = objs[i].uri + bl;
	}
	qsort(v, n, sizeof(*v), cmp_ent);
	for (i = 1; i < n; i++)
		if (strcmp(v[i - 1].rel, v[i].rel) == 0) {
			cm_err_set(err, CM_EINVAL, v[i].o->uri,
			    "rsync tree: URI given twice");
			free(v);
			return -1;
		}
	*out = v;
	return 0;
}

/* Gives every directory of the tree (from its deepest up) a fixed mtime. */
static int
fix_dir_times(const char *tree, struct ent *v, size_t n, struct cm_err *err)
{
	struct timespec	ts[2] = { { PUB_RSYNC_FIXED_MTIME, 0 },
		{ PUB_RSYNC_FIXED_MTIME, 0 } };
	char		path[PATH_MAX], prev[PATH_MAX] = "";
	const char	*slash;
	size_t		i;

	for (i = 0; i < n; i++) {
		if ((slash = strrchr(v[i].rel, '/')) == NULL)
			continue;
		/* Every prefix directory of this object. */
		for (const char *s = v[i].rel; s <= slash; s++) {
			if (*s != '/')
				continue;
			if (pathf(path, "%s/%.*s", tree, (int)(s - v[i].rel),
			    v[i].rel) == -1)
				return cm_err_set(err, CM_EINVAL, tree,
				    "path too long");
			if (strncmp(prev, path, strlen(path)) == 0 &&
			    (prev[strlen(path)] == '/' ||
			    prev[strlen(path)] == '\0'))
				continue;	/* done with the previous object */
			if (utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) == -1)
				return cm_err_set(err, CM_EIO, path,
				    "utimensat: %s", strerror(errno));
		}
		if (pathf(prev, "%s/%.*s", tree, (int)(slash - v[i].rel),
		    v[i].rel) == -1)
			return cm_err_set(err, CM_EINVAL, tree, "path too long");
	}
	if (utimensat(AT_FDCWD, tree, ts, 0) == -1)
		return cm_err_set(err, CM_EIO, tree, "utimensat: %s",
		    strerror(errno));
	return 0;
}

static int
populate(const char *root, const char *tree, struct ent *v, size_t n,
    struct pub_rsync_stats *st, struct cm_err *err)
{
	char		 dst[PATH_MAX], dir[PATH_MAX] = "";
	const char	*slash;
	size_t		 i;
	int		 fresh;

	for (i = 0; i < n; i++) {
		slash = strrchr(v[i].rel, '/');
		if (slash != NULL && (strlen(dir) != (size_t)(slash - v[i].rel) ||
		    strncmp(dir, v[i].rel, strlen(dir)) != 0)) {
			if (pathf(dir, "%.*s", (int)(slash - v[i].rel),
			    v[i].rel) == -1 || pathf(dst, "%s/%s", tree,
			    dir) == -1)
				return cm_err_set(err, CM_EINVAL, tree,
				    "path too long");
			if (cm_mkdirs(dst, DIR_MODE, err) == -1)
				return -1;
			st->dirs++;
		}
		if (pathf(dst, "%s/%s", tree, v[i].rel) == -1)
			return cm_err_set(err, CM_EINVAL, tree, "path too long");
		if (place(root, dst, v[i].o, &fresh, err) == -1)
			return -1;
		if (fresh)
			st->written++;
		else
			st->linked++;
	}
	return 0;
}

int
pub_rsync_build(const char *root, const char *base_uri, uint64_t serial,
    const struct pub_rsync_obj *objs, size_t n, struct pub_rsync_stats *st,
    struct cm_err *err)
{
	struct pub_rsync_stats	 dummy;
	struct ent		*v = NULL;
	char			 tmp[PATH_MAX], final[PATH_MAX], trees[PATH_MAX];
	uint64_t		 cur;
	int			 fd, rc = -1;

	if (st == NULL)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	if (pub_uri_check_base(base_uri, err) == -1)
		return cm_err_wrap(err, "rsync tree");
	if (serial == 0)
		return cm_err_set(err, CM_EINVAL, root, "serial must be positive");
	if (pathf(tmp, "%s/trees/%" PRIu64 ".new", root, serial) == -1 ||
	    pathf(final, "%s/trees/%" PRIu64, root, serial) == -1 ||
	    pathf(trees, "%s/trees", root) == -1)
		return cm_err_set(err, CM_EINVAL, root, "path too long");
	if (prepare(root, err) == -1 || pub_rsync_current(root, &cur, err) == -1)
		return -1;
	if (serial <= cur)
		return cm_err_set(err, CM_ESTATE, root, "serial %" PRIu64
		    " is not above the current tree %" PRIu64, serial, cur);
	if (entries(base_uri, objs, n, &v, err) == -1)
		return -1;
	/* Leftovers of a crashed run for this serial were never current. */
	if (rm_tree(tmp, err) == -1 || rm_tree(final, err) == -1)
		goto out;
	if (mkdir(tmp, DIR_MODE) == -1) {
		cm_err_set(err, CM_EIO, tmp, "mkdir: %s", strerror(errno));
		goto out;
	}
	if (populate(root, tmp, v, n, st, err) == -1 ||
	    fix_dir_times(tmp, v, n, err) == -1)
		goto out;
	/* One flush for all new files and directories of the tree. */
	if ((fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    syncfs(fd) == -1) {
		cm_err_set(err, CM_EIO, tmp, "syncfs: %s", strerror(errno));
		if (fd != -1)
			close(fd);
		goto out;
	}
	close(fd);
	if (rename(tmp, final) == -1) {
		cm_err_set(err, CM_EIO, final, "rename: %s", strerror(errno));
		goto out;
	}
	if (fsync_path(trees, err) == -1)
		goto out;
	rc = 0;
out:
	free(v);
	return rc;
}

int
pub_rsync_activate(const char *root, uint64_t serial, int64_t now,
    struct cm_err *err)
{
	char		path[PATH_MAX], target[64], link[PATH_MAX], cur[PATH_MAX];
	char		stamp[32];
	struct stat	st;

	snprintf(target, sizeof(target), "trees/%" PRIu64, serial);
	if (pathf(path, "%s/%s", root, target) == -1 ||
	    pathf(link, "%s/current.new", root) == -1 ||
	    pathf(cur, "%s/current", root) == -1)
		return cm_err_set(err, CM_EINVAL, root, "path too long");
	if (lstat(path, &st) == -1 || !S_ISDIR(st.st_mode))
		return cm_err_set(err, CM_ENOTFOUND, path, "no such tree");
	/* The activation time decides when the previous tree may go. */
	snprintf(stamp, sizeof(stamp), "%" PRId64 "\n", now);
	if (pathf(path, "%s/trees/%" PRIu64 ".activated", root, serial) == -1)
		return cm_err_set(err, CM_EINVAL, root, "path too long");
	if (cm_file_write_atomic(path, stamp, strlen(stamp), 0644, err) == -1)
		return -1;
	if (unlink(link) == -1 && errno != ENOENT)
		return cm_err_set(err, CM_EIO, link, "unlink: %s", strerror(errno));
	if (symlink(target, link) == -1)
		return cm_err_set(err, CM_EIO, link, "symlink: %s",
		    strerror(errno));
	/* rename(2) replaces current atomically: readers see old or new. */
	if (rename(link, cur) == -1) {
		cm_err_set(err, CM_EIO, cur, "rename: %s", strerror(errno));
		unlink(link);
		return -1;
	}
	return fsync_path(root, err);
}

int
pub_rsync_publish(const char *root, const char *base_uri, uint64_t serial,
    const struct pub_rsync_obj *objs, size_t n, int64_t now,
    struct pub_rsync_stats *st, struct cm_err *err)
{
	if (pub_rsync_build(root, base_uri, serial, objs, n, st, err) == -1)
		return -1;
	return pub_rsync_activate(root, serial, now, err);
}

/* Removes content-store entries that no tree links to any more. */
static int
gc_store(const char *root, struct cm_err *err)
{
	char		 path[PATH_MAX];
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;

	for (int i = 0; i < 256; i++) {
		if (pathf(path, "%s/objects/%02x", root, i) == -1)
			return cm_err_set(err, CM_EINVAL, root, "path too long");
		if ((d = opendir(path)) == NULL) {
			if (errno == ENOENT)
				continue;
			return cm_err_set(err, CM_EIO, path, "opendir: %s",
			    strerror(errno));
		}
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.' && (de->d_name[1] == '\0' ||
			    (de->d_name[1] == '.' && de->d_name[2] == '\0')))
				continue;
			if (fstatat(dirfd(d), de->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) == -1)
				continue;
			if ((st.st_nlink <= 1 || strstr(de->d_name, ".tmp")) &&
			    unlinkat(dirfd(d), de->d_name, 0) == -1 &&
			    errno != ENOENT) {
				cm_err_set(err, CM_EIO, de->d_name,
				    "unlink: %s", strerror(errno));
				closedir(d);
				return -1;
			}
		}
		closedir(d);
	}
	return 0;
}

enum tkind { T_TREE, T_NEW, T_ACTIVATED };

struct tent {
	uint64_t	serial;
	enum tkind	kind;
	int64_t		activated;	/* T_ACTIVATED: the recorded time */
};

static int
cmp_tent(const void *a, const void *b)
{
	const struct tent *x = a, *y = b;

	return x->serial < y->serial ? -1 : x->serial > y->serial ? 1 :
	    (int)x->kind - (int)y->kind;
}

/* Parses a name of trees/: "<serial>", "<serial>.new", "<serial>.activated". */
static int
parse_tname(const char *root, const char *name, struct tent *t)
{
	char		 path[PATH_MAX], *end;
	uint8_t		*buf;
	size_t		 len;
	long long	 v;

	if (name[0] < '1' || name[0] > '9')
		return -1;
	errno = 0;
	t->serial = strtoull(name, &end, 10);
	if (errno != 0)
		return -1;
	if (*end == '\0')
		t->kind = T_TREE;
	else if (strcmp(end, ".new") == 0)
		t->kind = T_NEW;
	else if (strcmp(end, ".activated") == 0) {
		t->kind = T_ACTIVATED;
		if (pathf(path, "%s/trees/%s", root, name) == -1 ||
		    cm_file_read(path, 64, &buf, &len, NULL) == -1)
			return -1;
		v = strtoll((char *)buf, &end, 10);
		t->activated = *end == '\n' || *end == '\0' ? v : 0;
		free(buf);
	} else
		return -1;
	return 0;
}

static int
list_trees(const char *root, struct tent **out, size_t *n,
    struct cm_err *err)
{
	char		 path[PATH_MAX];
	struct dirent	*de;
	struct tent	*v = NULL, t;
	size_t		 cap = 0;
	DIR		*d;
	void		*p;

	*n = 0;
	if (pathf(path, "%s/trees", root) == -1)
		return cm_err_set(err, CM_EINVAL, root, "path too long");
	if ((d = opendir(path)) == NULL)
		return cm_err_set(err, CM_EIO, path, "opendir: %s",
		    strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (parse_tname(root, de->d_name, &t) == -1)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 32;
			if ((p = reallocarray(v, cap, sizeof(*v))) == NULL) {
				free(v);
				closedir(d);
				return cm_err_set(err, CM_ENOMEM, NULL,
				    "out of memory");
			}
			v = p;
		}
		v[(*n)++] = t;
	}
	closedir(d);
	if (*n > 1)
		qsort(v, *n, sizeof(*v), cmp_tent);
	*out = v;
	return 0;
}

/*
 * When tree v[i] stopped being current: the activation time of the next
 * activated tree.  -1 if it never was current or that is unknown.
 */
static int64_t
retired_at(const struct tent *v, size_t n, size_t i)
{
	int	was_active = 0;

	for (size_t j = 0; j < n; j++) {
		if (v[j].serial == v[i].serial && v[j].kind == T_ACTIVATED)
			was_active = 1;
		if (v[j].serial > v[i].serial && v[j].kind == T_ACTIVATED)
			return was_active ? v[j].activated : -1;
	}
	return -1;
}

int
pub_rsync_cleanup(const char *root, int64_t now, int64_t grace,
    size_t *removed, struct cm_err *err)
{
	struct tent	*v = NULL;
	char		 path[PATH_MAX];
	uint64_t	 cur;
	size_t		 n, i, count = 0;
	int64_t		 t;
	int		 rc = -1, drop;

	if (removed != NULL)
		*removed = 0;
	if (pub_rsync_current(root, &cur, err) == -1)
		return -1;
	if (cur == 0)
		return 0;
	if (list_trees(root, &v, &n, err) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (v[i].serial == cur || v[i].kind == T_ACTIVATED)
			continue;
		if (v[i].kind == T_NEW || v[i].serial > cur)
			drop = 1;	/* a crashed build; one writer only */
		else {
			t = retired_at(v, n, i);
			drop = t == -1 || now - t >= grace;
		}
		if (!drop)
			continue;
		if (pathf(path, "%s/trees/%" PRIu64 "%s", root, v[i].serial,
		    v[i].kind == T_NEW ? ".new" : "") == -1) {
			cm_err_set(err, CM_EINVAL, root, "path too long");
			goto out;
		}
		if (rm_tree(path, err) == -1)
			goto out;
		if (v[i].kind == T_TREE) {
			count++;
			if (pathf(path, "%s/trees/%" PRIu64 ".activated", root,
			    v[i].serial) == 0)
				unlink(path);
		}
	}
	if (count > 0 && gc_store(root, err) == -1)
		goto out;
	if (removed != NULL)
		*removed = count;
	rc = 0;
out:
	free(v);
	return rc;
}
