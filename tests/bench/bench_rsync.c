/*
 * rsync tree writer cost.
 *
 * Builds a first tree of N objects of about 2 KB (default 20,000; every
 * object written), then a second tree with 100 changed objects (the rest
 * hard-linked from the content store), and prints both times, the bytes
 * written, and the ratio of the incremental build to the first one.  The
 * incremental build still makes one link(2) per object, so the ratio
 * shows what a change costs against a full rewrite.
 *
 * Usage: bench_rsync [n-objects [directory]]   (directory default $TMPDIR
 * or /tmp; the filesystem there is what is measured)
 */
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cm_enc.h"
#include "publish/pub_rsync.h"

#define BASE	"rsync://rsync.example.net/repo/"
#define CHANGES	100

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(p);
}

/* Object i of a given generation: 2 KB whose first bytes name both. */
static void
fill(uint8_t *buf, size_t len, size_t i, unsigned gen)
{
	for (size_t j = 0; j < len; j++)
		buf[j] = (uint8_t)(i * 131 + j * 7 + (j >> 8));
	snprintf((char *)buf, 32, "%zu/%u", i, gen);
}

static int
build(const char *root, struct pub_rsync_obj *v, size_t n, uint64_t serial,
    double *secs, struct pub_rsync_stats *st)
{
	struct cm_err	err;
	double		t0 = now();

	if (pub_rsync_publish(root, BASE, serial, v, n, (int64_t)serial, st,
	    &err) != 0) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	*secs = now() - t0;
	return 0;
}

int
main(int argc, char **argv)
{
	size_t			 n = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
	const char		*dir = argc > 2 ? argv[2] : getenv("TMPDIR");
	struct pub_rsync_obj	*v;
	struct pub_rsync_stats	 st1, st2;
	char			 root[512], **uris;
	uint8_t			*data, (*hash)[32];
	double			 t1, t2;
	size_t			 sz = 2048;
	int			 rc = 1;

	if (dir == NULL)
		dir = "/tmp";
	if (n < CHANGES) {
		fprintf(stderr, "usage: bench_rsync [n-objects >= %d [dir]]\n",
		    CHANGES);
		return 1;
	}
	snprintf(root, sizeof(root), "%s/cairn-bench-rsync-XXXXXX", dir);
	if (mkdtemp(root) == NULL) {
		perror(root);
		return 1;
	}
	v = calloc(n, sizeof(*v));
	uris = calloc(n, sizeof(*uris));
	data = malloc(n * sz);
	hash = calloc(n, sizeof(*hash));
	if (v == NULL || uris == NULL || data == NULL || hash == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (asprintf(&uris[i], BASE "ca%05zu/%08zx.roa", i / 5,
		    i * 2654435761u % 0xffffffffu) == -1)
			goto out;
		fill(data + i * sz, sz, i, 1);
		cm_sha256(data + i * sz, sz, hash[i]);
		v[i].uri = uris[i];
		v[i].data = data + i * sz;
		v[i].len = sz;
		v[i].hash = hash[i];
		v[i].mtime = 1700000000;
	}
	printf("rsync tree in %s, %zu objects of %zu bytes\n", root, n, sz);
	if (build(root, v, n, 1, &t1, &st1) != 0)
		goto out;
	printf("first tree:       %8.3f s  written %6zu  linked %6zu  "
	    "dirs %zu\n", t1, st1.written, st1.linked, st1.dirs);
	for (size_t k = 0; k < CHANGES; k++) {
		size_t i = k * (n / CHANGES);

		fill(data + i * sz, sz, i, 2);
		cm_sha256(data + i * sz, sz, hash[i]);
	}
	if (build(root, v, n, 2, &t2, &st2) != 0)
		goto out;
	printf("%d changes:      %8.3f s  written %6zu  linked %6zu\n", CHANGES,
	    t2, st2.written, st2.linked);
	printf("data written: %.1f MB first, %.3f MB incremental\n",
	    (double)(st1.written * sz) / 1e6, (double)(st2.written * sz) / 1e6);
	printf("incremental / full build time: %.3f\n", t2 / t1);
	rc = 0;
out:
	nftw(root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	for (size_t i = 0; uris != NULL && i < n; i++)
		free(uris[i]);
	free(uris);
	free(v);
	free(data);
	free(hash);
	return rc;
}
