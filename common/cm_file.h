/*
 * cm_file: whole-file reads with a size cap, and durable atomic writes.
 */
#ifndef CM_FILE_H
#define CM_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/cm_err.h"

/*
 * Reads the whole file at path (at most max bytes) into a malloc'd buffer
 * that the caller frees; a NUL is kept after the data (not counted in *len).
 * Returns 0, or -1 with err set (CM_ELIMIT if larger than max).
 */
int	cm_file_read(const char *path, size_t max, uint8_t **out, size_t *len,
	    struct cm_err *err);

/*
 * Writes data to path atomically and durably: a temporary file in the same
 * directory, fsync, chmod mode, rename over path, fsync of the directory.
 * Returns 0, or -1 with err set; on failure path is unchanged.
 */
int	cm_file_write_atomic(const char *path, const void *data, size_t len,
	    mode_t mode, struct cm_err *err);

/* mkdir -p with mode for each created directory.  Returns 0 or -1. */
int	cm_mkdirs(const char *path, mode_t mode, struct cm_err *err);

#endif
