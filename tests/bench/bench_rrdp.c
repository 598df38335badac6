/*
 * RRDP generation cost.
 *
 *  1. A snapshot of N synthetic objects of about 2 KB (default 100,000)
 *     with Cairn's streaming writer (hand escaping into a cm_buf), then the
 *     same snapshot with libxml2's xmlTextWriter as the baseline: MB/s of
 *     XML produced, and the ratio.
 *  2. A delta of 100 changes (publish/replace/withdraw) with the same
 *     writer: its cost against the snapshot's (should be far below 1,
 *     since a change costs O(changes), not O(repository)).
 *  3. SHA-256 of the snapshot (needed for the notification), a strict
 *     streaming parse of the whole snapshot (replica check) and a parse of
 *     the delta, for scale.
 *
 * Usage: bench_rrdp [n-objects]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/xmlwriter.h>

#include "common/cm_buf.h"
#include "common/cm_enc.h"
#include "publish/pub_rrdp.h"
#include "publish/pub_uuid.h"
#include "publish/pub_xml.h"

#define POOL	256
#define DELTA_N	100

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Object i: ~2 KB of bytes from a pool (base64 cost does not care). */
static uint8_t	pool[POOL][2400];

static const uint8_t *
obj(size_t i, size_t *len)
{
	*len = 1800 + (i * 7919) % 500;
	return pool[i % POOL];
}

static void
uri(size_t i, char *out, size_t size)
{
	snprintf(out, size, "rsync://rsync.example.net/repo/ca%05zu/"
	    "%08zx-obj.roa", i / 5, i * 2654435761u % 0xffffffffu);
}

static int
snapshot_cairn(const char *sid, size_t n, struct cm_buf *b)
{
	struct pub_rrdp_writer	w;
	struct cm_err		err;
	char			u[128];
	const uint8_t		*p;
	size_t			len;

	if (pub_rrdp_begin(&w, b, PUB_RRDP_SNAPSHOT, sid, 1, &err) != 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		uri(i, u, sizeof(u));
		p = obj(i, &len);
		if (pub_rrdp_write_publish(&w, u, NULL, p, len, &err) != 0)
			goto fail;
	}
	if (pub_rrdp_end(&w, &err) != 0)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "%s\n", err.msg);
	return -1;
}

/* The same document through libxml2's xmlTextWriter. */
static size_t
snapshot_libxml(const char *sid, size_t n)
{
	xmlBufferPtr		xb = xmlBufferCreate();
	xmlTextWriterPtr	w = xmlNewTextWriterMemory(xb, 0);
	char			u[128];
	const uint8_t		*p;
	size_t			len, out;

	xmlTextWriterStartElement(w, BAD_CAST "snapshot");
	xmlTextWriterWriteAttribute(w, BAD_CAST "xmlns", BAD_CAST PUB_RRDP_NS);
	xmlTextWriterWriteAttribute(w, BAD_CAST "version", BAD_CAST "1");
	xmlTextWriterWriteAttribute(w, BAD_CAST "session_id", BAD_CAST sid);
	xmlTextWriterWriteAttribute(w, BAD_CAST "serial", BAD_CAST "1");
	for (size_t i = 0; i < n; i++) {
		uri(i, u, sizeof(u));
		p = obj(i, &len);
		xmlTextWriterStartElement(w, BAD_CAST "publish");
		xmlTextWriterWriteAttribute(w, BAD_CAST "uri", BAD_CAST u);
		xmlTextWriterWriteBase64(w, (const char *)p, 0, (int)len);
		xmlTextWriterEndElement(w);
	}
	xmlTextWriterEndDocument(w);
	xmlFreeTextWriter(w);
	out = (size_t)xmlBufferLength(xb);
	xmlBufferFree(xb);
	return out;
}

static int
count_elem(void *arg, struct pub_rrdp_elem *e, struct cm_err *err)
{
	(*(size_t *)arg)++;
	return 0;
}

static int
delta_cairn(const char *sid, size_t n, struct cm_buf *b)
{
	struct pub_rrdp_writer	w;
	struct cm_err		err;
	char			u[128];
	uint8_t			h[32];
	const uint8_t		*p;
	size_t			len, idx;

	if (pub_rrdp_begin(&w, b, PUB_RRDP_DELTA, sid, 2, &err) != 0)
		goto fail;
	for (size_t i = 0; i < DELTA_N; i++) {
		idx = (i * 997) % n;
		uri(idx, u, sizeof(u));
		p = obj(idx + 1, &len);
		cm_sha256(obj(idx, &len), len, h);	/* the replaced one */
		p = obj(idx + 1, &len);
		if (i % 10 == 9) {
			if (pub_rrdp_write_withdraw(&w, u, h, &err) != 0)
				goto fail;
		} else if (pub_rrdp_write_publish(&w, u, i % 3 ? h : NULL, p, len,
		    &err) != 0)
			goto fail;
	}
	if (pub_rrdp_end(&w, &err) != 0)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "%s\n", err.msg);
	return -1;
}

int
main(int argc, char **argv)
{
	struct cm_buf		 snap = CM_BUF_INIT, delta = CM_BUF_INIT;
	struct pub_rrdp_doc	*doc;
	struct cm_err		 err;
	char			 sid[37];
	uint8_t			 h[32];
	size_t			 n = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
	size_t			 xlen, raw = 0, len;
	double			 t0, t_snap, t_xml, t_delta, t_hash, t_parse;
	int			 reps;

	if (n < DELTA_N) {
		fprintf(stderr, "usage: bench_rrdp [n-objects >= %d]\n", DELTA_N);
		return 1;
	}
	for (size_t i = 0; i < POOL; i++)
		for (size_t j = 0; j < sizeof(pool[0]); j++)
			pool[i][j] = (uint8_t)(i * 31 + j * 17 + (j >> 5));
	for (size_t i = 0; i < n; i++) {
		obj(i, &len);
		raw += len;
	}
	if (pub_uuid_v4(sid, &err) != 0)
		return 1;
	printf("RRDP generation, %zu objects, %.1f MB of object bytes\n", n,
	    (double)raw / 1e6);

	t0 = now();
	if (snapshot_cairn(sid, n, &snap) != 0)
		return 1;
	t_snap = now() - t0;
	printf("snapshot, cairn writer:   %8.3f s  %7.1f MB  %8.1f MB/s\n",
	    t_snap, (double)snap.len / 1e6, (double)snap.len / 1e6 / t_snap);

	t0 = now();
	cm_sha256(snap.data, snap.len, h);
	t_hash = now() - t0;
	printf("snapshot SHA-256:         %8.3f s             %8.1f MB/s\n",
	    t_hash, (double)snap.len / 1e6 / t_hash);

	{
		struct pub_rrdp_handler	cb = { NULL, NULL, count_elem };
		size_t			seen = 0;

		t0 = now();
		if (pub_rrdp_parse_stream("snapshot", snap.data, snap.len,
		    PUB_RRDP_SNAPSHOT, &cb, &seen, &err) != 0 || seen != n) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		t0 = now() - t0;
		printf("snapshot streaming parse: %8.3f s  %7zu el  %8.1f MB/s\n",
		    t0, seen, (double)snap.len / 1e6 / t0);
	}

	t0 = now();
	xlen = snapshot_libxml(sid, n);
	t_xml = now() - t0;
	printf("snapshot, xmlTextWriter:  %8.3f s  %7.1f MB  %8.1f MB/s\n",
	    t_xml, (double)xlen / 1e6, (double)xlen / 1e6 / t_xml);
	printf("speed-up of the cairn writer over xmlTextWriter: %.2fx\n",
	    t_xml / t_snap);

	/* The delta is tiny: repeat it to get a stable time. */
	reps = 200;
	t0 = now();
	for (int r = 0; r < reps; r++) {
		cm_buf_reset(&delta);
		if (delta_cairn(sid, n, &delta) != 0)
			return 1;
	}
	t_delta = (now() - t0) / reps;
	printf("delta of %d changes:      %8.6f s  %7.3f MB\n", DELTA_N, t_delta,
	    (double)delta.len / 1e6);
	printf("delta cost / snapshot cost: %.6f  (%.0fx cheaper)\n",
	    t_delta / t_snap, t_snap / t_delta);

	t0 = now();
	if (pub_rrdp_parse("delta", delta.data, delta.len, PUB_RRDP_MAX_DOC,
	    PUB_RRDP_DELTA, &doc, &err) != 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	t_parse = now() - t0;
	printf("strict parse of the delta: %8.6f s  (%zu elements)\n", t_parse,
	    doc->nelems);
	pub_rrdp_doc_free(doc);
	cm_buf_free(&snap);
	cm_buf_free(&delta);
	return 0;
}
