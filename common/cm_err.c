#include "common/cm_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

void
cm_err_clear(struct cm_err *err)
{
	if (err == NULL)
		return;
	err->code = CM_OK;
	err->msg[0] = '\0';
}

static void
err_vset(struct cm_err *err, enum cm_errcode code, const char *obj,
    const char *fmt, va_list ap)
{
	size_t	n = 0;

	err->code = code;
	err->msg[0] = '\0';
	if (obj != NULL) {
		snprintf(err->msg, sizeof(err->msg), "%s: ", obj);
		n = strlen(err->msg);
	}
	vsnprintf(err->msg + n, sizeof(err->msg) - n, fmt, ap);
}

int
cm_err_set(struct cm_err *err, enum cm_errcode code, const char *obj,
    const char *fmt, ...)
{
	va_list	ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	err_vset(err, code, obj, fmt, ap);
	va_end(ap);
	return -1;
}

/* cm_err_ssl() and cm_err_ssl_input() with their code. */
static int
err_vssl(struct cm_err *err, enum cm_errcode code, const char *obj,
    const char *fmt, va_list ap)
{
	unsigned long	e;
	char		buf[256];
	size_t		n;

	e = ERR_peek_last_error();
	if (err == NULL) {
		ERR_clear_error();
		return -1;
	}
	err_vset(err, code, obj, fmt, ap);
	if (e != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		n = strlen(err->msg);
		snprintf(err->msg + n, sizeof(err->msg) - n, " (%s)", buf);
	}
	ERR_clear_error();
	return -1;
}

int
cm_err_ssl(struct cm_err *err, const char *obj, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	err_vssl(err, CM_ECRYPTO, obj, fmt, ap);
	va_end(ap);
	return -1;
}

int
cm_err_ssl_input(struct cm_err *err, const char *obj, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	err_vssl(err, CM_EINVAL, obj, fmt, ap);
	va_end(ap);
	return -1;
}

int
cm_err_wrap(struct cm_err *err, const char *ctx)
{
	char	tmp[sizeof(err->msg)];

	if (err == NULL || ctx == NULL)
		return -1;
	snprintf(tmp, sizeof(tmp), "%s: %s", ctx, err->msg);
	memcpy(err->msg, tmp, sizeof(tmp));
	return -1;
}

const char *
cm_errcode_str(enum cm_errcode code)
{
	switch (code) {
	case CM_OK:		return "ok";
	case CM_EINVAL:		return "invalid";
	case CM_ENOMEM:		return "nomem";
	case CM_EIO:		return "io";
	case CM_ECRYPTO:	return "crypto";
	case CM_EDB:		return "db";
	case CM_ERETRY:		return "retry";
	case CM_ENOTFOUND:	return "notfound";
	case CM_EEXIST:		return "exists";
	case CM_EPERM:		return "perm";
	case CM_ELIMIT:		return "limit";
	case CM_ESTATE:		return "state";
	}
	return "unknown";
}
