/*
 * cm_err: the error object every fallible Cairn function fills.
 *
 * Functions return 0 (or a count) on success and -1 on failure; on failure
 * they describe what went wrong in a caller-provided struct cm_err.  The
 * message names the object or URI first, in the style "ta.mft: bad hash".
 */
#ifndef CM_ERR_H
#define CM_ERR_H

#include <stddef.h>

/* Stable error classes; API and protocol layers map them to status codes. */
enum cm_errcode {
	CM_OK = 0,
	CM_EINVAL,	/* malformed or out-of-profile input */
	CM_ENOMEM,	/* allocation failed */
	CM_EIO,		/* file, socket or process failure */
	CM_ECRYPTO,	/* OpenSSL or signer failure */
	CM_EDB,		/* database failure */
	CM_ERETRY,	/* transient: the caller may retry */
	CM_ENOTFOUND,	/* the named thing does not exist */
	CM_EEXIST,	/* the named thing already exists */
	CM_EPERM,	/* not allowed */
	CM_ELIMIT,	/* a configured limit was hit */
	CM_ESTATE,	/* refused in the current state */
};

struct cm_err {
	enum cm_errcode	code;
	char		msg[1024];
};

/* Clears err (code CM_OK, empty message).  err may be NULL. */
void	cm_err_clear(struct cm_err *err);

/*
 * Sets err to code and the formatted message, prefixed with "obj: " when obj
 * is not NULL.  Always returns -1 so that callers can write
 * "return cm_err_set(...)".  err may be NULL (the error is dropped).
 */
int	cm_err_set(struct cm_err *err, enum cm_errcode code, const char *obj,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Like cm_err_set, and appends the first queued OpenSSL error (the queue is
 * then cleared).  Code is CM_ECRYPTO.
 */
int	cm_err_ssl(struct cm_err *err, const char *obj, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/*
 * cm_err_ssl() for input that OpenSSL could not decode: the input's fault,
 * so the code is CM_EINVAL.
 */
int	cm_err_ssl_input(struct cm_err *err, const char *obj, const char *fmt,
	    ...) __attribute__((format(printf, 3, 4)));

/* Prefixes the existing message with "ctx: ".  Returns -1. */
int	cm_err_wrap(struct cm_err *err, const char *ctx);

/* Short name of an error code ("invalid", "io", ...). */
const char *cm_errcode_str(enum cm_errcode code);

#endif
