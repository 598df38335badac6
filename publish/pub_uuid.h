/*
 * pub_uuid: version 4 UUIDs, the RRDP session ids (RFC 8182 §3.3).
 */
#ifndef PUB_UUID_H
#define PUB_UUID_H

#include "common/cm_err.h"

/* True if s is 8-4-4-4-12 hex digits with version 4 and the RFC 4122 variant. */
int	pub_uuid_is_v4(const char *s);

/* Writes a random v4 UUID (lowercase) and a NUL to out[37].  Returns 0 or -1. */
int	pub_uuid_v4(char out[37], struct cm_err *err);

#endif
