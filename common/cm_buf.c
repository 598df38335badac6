#include "common/cm_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
cm_buf_reserve(struct cm_buf *b, size_t n)
{
	size_t	 ncap;
	uint8_t	*p;

	/* +1 keeps room for the NUL of cm_buf_cstr(). */
	if (n > SIZE_MAX - b->len - 1)
		return -1;
	if (b->len + n + 1 <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 256;
	while (ncap < b->len + n + 1)
		ncap = ncap > SIZE_MAX / 2 ? b->len + n + 1 : ncap * 2;
	if ((p = realloc(b->data, ncap)) == NULL)
		return -1;
	b->data = p;
	b->cap = ncap;
	return 0;
}

int
cm_buf_add(struct cm_buf *b, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (cm_buf_reserve(b, n) == -1)
		return -1;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int
cm_buf_puts(struct cm_buf *b, const char *s)
{
	return cm_buf_add(b, s, strlen(s));
}

int
cm_buf_printf(struct cm_buf *b, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || cm_buf_reserve(b, (size_t)n) == -1)
		return -1;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

const char *
cm_buf_cstr(struct cm_buf *b)
{
	if (cm_buf_reserve(b, 0) == -1)
		return NULL;
	b->data[b->len] = '\0';
	return (const char *)b->data;
}

uint8_t *
cm_buf_steal(struct cm_buf *b, size_t *len)
{
	uint8_t	*p = b->data;

	if (len != NULL)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void
cm_buf_reset(struct cm_buf *b)
{
	b->len = 0;
}

void
cm_buf_free(struct cm_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
