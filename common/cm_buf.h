/*
 * cm_buf: a growable byte buffer.  The struct is owned by the caller (often
 * on the stack); its data is freed with cm_buf_free().
 */
#ifndef CM_BUF_H
#define CM_BUF_H

#include <stddef.h>
#include <stdint.h>

struct cm_buf {
	uint8_t	*data;
	size_t	 len;
	size_t	 cap;
};

#define CM_BUF_INIT	{ NULL, 0, 0 }

/* Makes room for n more bytes.  Returns 0, or -1 on allocation failure. */
int	cm_buf_reserve(struct cm_buf *b, size_t n);
/* Appends n bytes.  Returns 0 or -1. */
int	cm_buf_add(struct cm_buf *b, const void *p, size_t n);
/* Appends a NUL-terminated string (without the NUL).  Returns 0 or -1. */
int	cm_buf_puts(struct cm_buf *b, const char *s);
/* Appends formatted text.  Returns 0 or -1. */
int	cm_buf_printf(struct cm_buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/*
 * Returns the contents as a NUL-terminated string (a NUL is kept after the
 * last byte, not counted in len), or NULL on allocation failure.  Borrowed.
 */
const char *cm_buf_cstr(struct cm_buf *b);
/* Hands the data to the caller (free() it) and empties b. */
uint8_t	*cm_buf_steal(struct cm_buf *b, size_t *len);
void	 cm_buf_reset(struct cm_buf *b);	/* len = 0, keeps memory */
void	 cm_buf_free(struct cm_buf *b);		/* frees data, b reusable */

#endif
