/*
 * pub_hook: test hooks of the publication server.  They do nothing unless
 * their environment variable is set; nothing in production sets it.
 *
 * CAIRN_PUBD_TEST_PAUSE=POINT:SERIAL[:MS]
 *	The serial builder stops for MS milliseconds (default 60000) when it
 *	reaches POINT while building SERIAL, inside the serial's
 *	transaction, after logging "test hook: pausing at POINT of serial
 *	SERIAL" (warning level).  Points: "locked" (the pending changes are
 *	read and locked, nothing written yet), "stored" (every row of the
 *	serial is written, the transaction not yet committed) and
 *	"snapshot" (the leader's worker wrote the serial's snapshot and
 *	notification, not yet committed).  The
 *	leader-kill test (tests/integration/pubd_leader_kill.sh) kills the
 *	process there.
 */
#ifndef PUB_HOOK_H
#define PUB_HOOK_H

#include <stdint.h>

/* Pauses as CAIRN_PUBD_TEST_PAUSE says, if it names point and serial. */
void	pub_hook_pause(const char *point, uint64_t serial);

#endif
