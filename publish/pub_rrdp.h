/*
 * pub_rrdp: RRDP documents (RFC 8182, updated by RFC 9674 and RFC 9697).
 *
 * Writing streams into a cm_buf with hand escaping and no DOM, so that a
 * snapshot of 500,000 objects costs about one memcpy of its base64; the
 * caller may drain the buffer (write it out and cm_buf_reset()) between
 * calls.  Parsing is strict (namespace, version, UUID session, positive
 * serials, no unknown elements or attributes, valid base64, hashes where
 * RFC 8182 requires them) and is meant for tests and replica checks; it
 * streams too (SAX, no tree), so a whole snapshot can be checked.
 */
#ifndef PUB_RRDP_H
#define PUB_RRDP_H

#include <stddef.h>
#include <stdint.h>

#include "common/cm_buf.h"
#include "common/cm_err.h"

#define PUB_RRDP_NS		"http://www.ripe.net/rpki/rrdp"
/* Default cap for pub_rrdp_parse(); snapshots of a large RIR exceed it. */
#define PUB_RRDP_MAX_DOC	(256u * 1024 * 1024)

enum pub_rrdp_kind {
	PUB_RRDP_NOTIFICATION = 1,
	PUB_RRDP_SNAPSHOT,
	PUB_RRDP_DELTA,
};

/* A snapshot or delta file as listed in the notification. */
struct pub_rrdp_ref {
	uint64_t	 serial;	/* deltas; ignored for the snapshot */
	const char	*uri;		/* https URI of the file */
	uint8_t		 hash[32];	/* SHA-256 of the file bytes */
	size_t		 size;		/* file size, for pub_rrdp_deltas_fit() */
};

/* Streaming snapshot/delta writer; the fields are private. */
struct pub_rrdp_writer {
	struct cm_buf		*out;
	enum pub_rrdp_kind	 kind;
	size_t			 count;
	int			 open;
};

/*
 * Starts a snapshot or delta document (kind) for session (a v4 UUID) and
 * serial (> 0) in out (borrowed until pub_rrdp_end()).  Returns 0 or -1.
 */
int	pub_rrdp_begin(struct pub_rrdp_writer *w, struct cm_buf *out,
	    enum pub_rrdp_kind kind, const char *session, uint64_t serial,
	    struct cm_err *err);

/*
 * Appends <publish uri=... [hash=...]>base64</publish>.  replaces is the
 * SHA-256 of the object being replaced (deltas only; NULL for a new object,
 * and always NULL in a snapshot).  Returns 0 or -1.
 */
int	pub_rrdp_write_publish(struct pub_rrdp_writer *w, const char *uri,
	    const uint8_t *replaces, const uint8_t *obj, size_t len,
	    struct cm_err *err);

/* Appends <withdraw uri=... hash=.../> (deltas only).  Returns 0 or -1. */
int	pub_rrdp_write_withdraw(struct pub_rrdp_writer *w, const char *uri,
	    const uint8_t hash[32], struct cm_err *err);

/* Closes the document; a delta must hold at least one element.  0 or -1. */
int	pub_rrdp_end(struct pub_rrdp_writer *w, struct cm_err *err);

/*
 * Writes a notification file into out: the snapshot first, then the deltas
 * in the given order, which must be serial, serial-1, ... (contiguous,
 * newest first).  With notify_uri (the URI the notification is served at),
 * every file URI must have the same origin (RFC 9674).  Returns 0 or -1.
 */
int	pub_rrdp_notification(struct cm_buf *out, const char *session,
	    uint64_t serial, const struct pub_rrdp_ref *snapshot,
	    const struct pub_rrdp_ref *deltas, size_t ndeltas,
	    const char *notify_uri, struct cm_err *err);

/*
 * How many of deltas (newest first) may be listed: the longest prefix whose
 * sizes sum to at most snapshot_size (RFC 8182 §3.4.3 / BCP) and at most
 * max_count entries.
 */
size_t	pub_rrdp_deltas_fit(size_t snapshot_size,
	    const struct pub_rrdp_ref *deltas, size_t ndeltas, size_t max_count);

/*
 * How many of deltas (newest first; created[i]: creation time of deltas[i]
 * in seconds) the notification lists, the retention policy of cairn-pubd:
 * as many as fit in snapshot_size together (RFC 8182 §3.3.2 says MUST, so
 * this rule is absolute), and of those at most max_count, except that
 * deltas created less than min_history seconds before now are never left
 * out for the count (the BCP's "at least 4 hours of deltas").
 */
size_t	pub_rrdp_deltas_keep(size_t snapshot_size,
	    const struct pub_rrdp_ref *deltas, const int64_t *created,
	    size_t ndeltas, size_t max_count, int64_t now, int64_t min_history);

/*
 * Builds the unpredictable URI of a snapshot or delta file:
 * "<base>/<session>/<serial>/<32 random hex>/snapshot.xml" (or delta.xml)
 * into out (size bytes).  base is the https base of the RRDP service, with
 * or without a trailing '/'.  Returns 0 or -1.
 */
int	pub_rrdp_file_uri(const char *base, const char *session,
	    uint64_t serial, enum pub_rrdp_kind kind, char *out, size_t size,
	    struct cm_err *err);

/*
 * Checks an object URI as RRDP carries it: rsync://, at most PUB_URI_MAX
 * bytes, no control characters.  Returns 0 or -1.
 */
int	pub_rrdp_check_uri(const char *uri, struct cm_err *err);

/* One <publish> or <withdraw> of a parsed snapshot or delta. */
struct pub_rrdp_elem {
	char		*uri;
	int		 withdraw;
	int		 has_hash;
	uint8_t		 hash[32];
	uint8_t		*data;		/* publish: the object bytes */
	size_t		 len;
};

/* A parsed document; free with pub_rrdp_doc_free(). */
struct pub_rrdp_doc {
	enum pub_rrdp_kind	 kind;
	char			 session[37];
	uint64_t		 serial;
	struct pub_rrdp_ref	 snapshot;	/* notification; uri owned */
	struct pub_rrdp_ref	*deltas;	/* notification; uris owned */
	size_t			 ndeltas;
	struct pub_rrdp_elem	*elems;		/* snapshot, delta */
	size_t			 nelems;
};

/*
 * Parses the RRDP document xml (len bytes, at most max) that must be of
 * kind expect into memory (pub_rrdp_parse_stream() with collecting
 * callbacks).  name names it in errors.  On success *out is owned by the
 * caller.  Returns 0, or -1 with err set.
 */
int	pub_rrdp_parse(const char *name, const uint8_t *xml, size_t len,
	    size_t max, enum pub_rrdp_kind expect, struct pub_rrdp_doc **out,
	    struct cm_err *err);

void	pub_rrdp_doc_free(struct pub_rrdp_doc *doc);

/*
 * Callbacks of the streaming parser.  Each returns 0, or -1 with err set
 * to abort the parse.  Any may be NULL.
 */
struct pub_rrdp_handler {
	/* The root element's session_id and serial. */
	int	(*root)(void *arg, const char *session, uint64_t serial,
		    struct cm_err *err);
	/* Notification: the snapshot (snapshot = 1), then each delta. */
	int	(*ref)(void *arg, int snapshot, const struct pub_rrdp_ref *r,
		    struct cm_err *err);
	/*
	 * Snapshot or delta: each publish or withdraw.  The callback may take
	 * e->uri and e->data (setting them to NULL); what it leaves is freed.
	 */
	int	(*elem)(void *arg, struct pub_rrdp_elem *e, struct cm_err *err);
};

/*
 * Streaming strict parse of xml (len bytes, e.g. an mmap'd file of any
 * size) as kind expect: SAX, memory bounded by the largest object plus 40
 * bytes per element for the duplicate check.  Every rule of
 * pub_rrdp_parse() applies; those that need the whole document (unique
 * URIs, contiguous deltas, a non-empty delta) are checked at the end, so
 * what the callbacks saw is valid only if the call returns 0.
 */
int	pub_rrdp_parse_stream(const char *name, const uint8_t *xml, size_t len,
	    enum pub_rrdp_kind expect, const struct pub_rrdp_handler *h,
	    void *arg, struct cm_err *err);

/*
 * Replica / RFC 9697 check between two parsed notifications of the same
 * server, prev seen before cur: within one session the serial never goes
 * back, the snapshot of an unchanged serial keeps its hash, and a delta
 * listed in both keeps its URI and hash.  Returns 0 or -1 naming the file.
 */
int	pub_rrdp_notification_compare(const struct pub_rrdp_doc *prev,
	    const struct pub_rrdp_doc *cur, struct cm_err *err);

#endif
