/*
 * Helpers shared by the PKCS#11 tests (test_hsm_p11*.c, test_hsm_sep.c): a
 * SoftHSM2 token in a temporary directory, and its removal.
 */
#ifndef HSM_TESTUTIL_H
#define HSM_TESTUTIL_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cm_err.h"
#include "common/cm_file.h"

#define SOFTHSM		"/usr/lib/softhsm/libsofthsm2.so"

/*
 * Makes the directory tmpdir (a mkdtemp() template, changed in place) with
 * a SoftHSM2 configuration (file object store) that SOFTHSM2_CONF points
 * to, and a token labelled label with the user PIN pin.  0 or -1.
 */
static inline int
hsmtest_token(char *tmpdir, const char *label, const char *pin,
    const char *so_pin)
{
	char		conf[512], body[512], cmd[1024];
	struct cm_err	err;

	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(conf, sizeof(conf), "%s/tokens", tmpdir);
	if (cm_mkdirs(conf, 0700, &err) == -1)
		return -1;
	snprintf(body, sizeof(body), "directories.tokendir = %s/tokens\n"
	    "objectstore.backend = file\nlog.level = ERROR\n", tmpdir);
	snprintf(conf, sizeof(conf), "%s/softhsm2.conf", tmpdir);
	if (cm_file_write_atomic(conf, body, strlen(body), 0600, &err) == -1)
		return -1;
	setenv("SOFTHSM2_CONF", conf, 1);
	snprintf(cmd, sizeof(cmd), "softhsm2-util --init-token --free --label "
	    "%s --pin %s --so-pin %s >/dev/null", label, pin, so_pin);
	return system(cmd) == 0 ? 0 : -1;
}

static inline int
hsmtest_rm_one(const char *p, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	return remove(p);
}

/* Removes what hsmtest_token() made. */
static inline void
hsmtest_cleanup(const char *tmpdir)
{
	nftw(tmpdir, hsmtest_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
