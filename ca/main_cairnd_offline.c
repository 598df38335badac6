/*
 * cairnd commands of an offline parent and its child (docs/offline-ta.md),
 * and of delegated children registered without the API.
 *
 * On the machine of the offline trust anchor:
 *   cairnd child add PARENT CHILD_REQUEST OUT as=.. v4=.. v6=.. [--force]
 *   cairnd child resources PARENT CHILD as=.. v4=.. v6=..
 *   cairnd child remove PARENT CHILD
 *   cairnd offline answer PARENT REQUEST OUT
 *   cairnd offline refresh PARENT OUT
 * On the online side (the RIR CA):
 *   cairnd parent import HANDLE PARENT_RESPONSE --offline
 *   cairnd parent offline-request HANDLE OUT
 *   cairnd parent offline-import HANDLE RESPONSE
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ca/desc.h"
#include "ca/main_cairnd.h"
#include "ca/offline.h"
#include "common/cm_buf.h"
#include "common/cm_file.h"
#include "publish/pub_oob.h"

/* Writes data to path atomically ("-": standard output). */
static int
put(const char *path, const void *data, size_t len, struct cm_err *err)
{
	if (strcmp(path, "-") == 0)
		return fwrite(data, 1, len, stdout) == len ? 0 :
		    cm_err_set(err, CM_EIO, "stdout", "write failed");
	return cm_file_write_atomic(path, data, len, 0644, err);
}

static void
when(int64_t t, char out[32])
{
	time_t		tt = (time_t)t;
	struct tm	tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%d %H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "%lld", (long long)t);
}

int
cairnd_parent_offline(struct ca_eng *e, int argc, char **argv,
    struct cm_err *err)
{
	struct ca_eng_offline_result	 res;
	uint8_t				*text = NULL;
	char				*out = NULL, next[32];
	size_t				 len;
	int				 n, rc = 1;

	if (argc != 4) {
		fprintf(stderr, "usage: cairnd -c CONF parent %s HANDLE FILE\n",
		    argv[1]);
		return 2;
	}
	if (strcmp(argv[1], "offline-request") == 0) {
		if ((n = ca_eng_offline_request(e, argv[2], "cli:parent", &out,
		    &len, err)) == -1 || put(argv[3], out, len, err) == -1)
			goto out;
		if (strcmp(argv[3], "-") != 0)
			printf("%s: %d messages for the offline parent in %s\n",
			    argv[2], n, argv[3]);
		rc = 0;
	} else if (strcmp(argv[1], "offline-import") == 0) {
		if (cm_file_read(argv[3], CA_OFF_FILE_MAX, &text, &len,
		    err) == -1 ||
		    ca_eng_offline_import(e, argv[2], text, len, argv[3],
		    "cli:parent", &res, err) == -1)
			goto out;
		printf("%s: %zu replies, %zu certificates installed, %zu "
		    "revoked, %zu refused; parent's publication point: %zu "
		    "objects published, %zu withdrawn\n", argv[2], res.replies,
		    res.installed, res.revoked, res.refused, res.published,
		    res.withdrawn);
		if (res.rolling)
			printf("%s: the parent is rolling its key (RFC 9691): the "
			    "new key's publication point is published too\n",
			    argv[2]);
		if (res.retired)
			printf("%s: the parent entitles it to nothing any more: "
			    "its publication point is withdrawn\n", argv[2]);
		if (res.next_update != 0) {
			when(res.next_update, next);
			printf("%s: the parent's manifest is valid until %s; the "
			    "next exchange must be imported before then\n",
			    argv[2], next);
		}
		/* Refusals are the parent's answers, not a failure of ours. */
		if (res.refused > 0) {
			cm_err_set(err, CM_EPERM, argv[2], "the parent refused "
			    "%zu messages (see the log)", res.refused);
			goto out;
		}
		rc = 0;
	} else {
		fprintf(stderr, "cairnd: parent: unknown command %s\n", argv[1]);
		rc = 2;
	}
out:
	free(out);
	free(text);
	return rc;
}

int
cairnd_offline(struct ca_eng *e, int argc, char **argv, struct cm_err *err)
{
	uint8_t	*req = NULL;
	char	*out = NULL;
	size_t	 rlen = 0, len;
	int	 rc = 1;

	if (argc == 5 && strcmp(argv[1], "answer") == 0) {
		if (cm_file_read(argv[3], CA_OFF_FILE_MAX, &req, &rlen,
		    err) == -1 ||
		    ca_eng_offline_answer(e, argv[2], req, rlen, argv[3],
		    "cli:offline", &out, &len, err) == -1 ||
		    put(argv[4], out, len, err) == -1)
			goto out;
	} else if (argc == 4 && strcmp(argv[1], "refresh") == 0) {
		if (ca_eng_offline_answer(e, argv[2], NULL, 0, NULL,
		    "cli:offline", &out, &len, err) == -1 ||
		    put(argv[3], out, len, err) == -1)
			goto out;
	} else {
		fprintf(stderr, "usage: cairnd -c CONF offline answer PARENT "
		    "REQUEST OUT\n       cairnd -c CONF offline refresh PARENT "
		    "OUT\n");
		return 2;
	}
	if (strcmp(argv[argc - 1], "-") != 0)
		printf("%s: response written to %s\n", argv[2], argv[argc - 1]);
	rc = 0;
out:
	free(req);
	free(out);
	return rc;
}

/* The parent_response for child of parent (RFC 8183), into xml. */
static int
parent_response(struct ca_eng *e, const char *parent, const char *child,
    struct cm_buf *xml, struct cm_err *err)
{
	struct pub_oob	 o;
	const char	*base = ca_eng_updown_uri(e);
	uint8_t		*der = NULL;
	size_t		 len;
	char		 uri[1024];
	int		 rc;

	/*
	 * An offline parent has no service; the reserved name says so to
	 * anyone who reads the file (RFC 6761), and the child is told to
	 * exchange files (parent import --offline).
	 */
	snprintf(uri, sizeof(uri), "%s%s", base != NULL ? base :
	    "https://offline.invalid/updown/", parent);
	if (ca_eng_bpki(e, parent, &der, &len, NULL, err) == -1)
		return -1;
	memset(&o, 0, sizeof(o));
	o.type = PUB_OOB_PARENT_RESPONSE;
	o.service_uri = uri;
	o.handle = (char *)child;
	o.parent_handle = (char *)parent;
	o.bpki_ta = der;
	o.bpki_ta_len = len;
	rc = pub_oob_write(&o, xml, err);
	free(der);
	return rc;
}

int
cairnd_child(struct ca_eng *e, int argc, char **argv, struct cm_err *err)
{
	struct pub_oob	*in = NULL;
	struct ca_res	*res = NULL;
	struct cm_buf	 xml = CM_BUF_INIT;
	uint8_t		*text = NULL;
	size_t		 len;
	int		 force = 0, rc = 1;

	/* --force (child add): replace a removed child's identity. */
	if (argc >= 6 && strcmp(argv[1], "add") == 0 &&
	    strcmp(argv[argc - 1], "--force") == 0) {
		force = 1;
		argc--;
	}
	if (argc >= 6 && strcmp(argv[1], "add") == 0) {
		/* Bad resource words are a usage error, as for transfer. */
		if (ca_desc_parse_res(argv + 5, (size_t)argc - 5, "child add",
		    &res, err) == -1) {
			rc = 2;
			goto out;
		}
		if (cm_file_read(argv[3], PUB_OOB_MAX, &text, &len, err) == -1 ||
		    pub_oob_parse(argv[3], text, len, PUB_OOB_CHILD_REQUEST, &in,
		    err) == -1 ||
		    (force ? ca_eng_child_replace : ca_eng_child_add)(e, argv[2],
		    in->handle, res, in->bpki_ta, in->bpki_ta_len, "cli:child",
		    err) == -1 ||
		    parent_response(e, argv[2], in->handle, &xml, err) == -1 ||
		    put(argv[4], xml.data, xml.len, err) == -1)
			goto out;
		if (strcmp(argv[4], "-") != 0)
			printf("%s: child %s added; its parent_response is in "
			    "%s\n", argv[2], in->handle, argv[4]);
		rc = 0;
	} else if (argc >= 5 && strcmp(argv[1], "resources") == 0) {
		if (ca_desc_parse_res(argv + 4, (size_t)argc - 4,
		    "child resources", &res, err) == -1) {
			rc = 2;
			goto out;
		}
		if (ca_eng_child_set_resources(e, argv[2], argv[3], res,
		    "cli:child", err) == -1)
			goto out;
		printf("%s: entitlement of %s set\n", argv[2], argv[3]);
		rc = 0;
	} else if (argc == 4 && strcmp(argv[1], "remove") == 0) {
		if (ca_eng_child_remove(e, argv[2], argv[3], "cli:child",
		    err) == -1)
			goto out;
		printf("%s: child %s removed, its certificates revoked; its "
		    "BPKI identity is kept so that its next request is told "
		    "(it then withdraws what it publishes)\n", argv[2],
		    argv[3]);
		rc = 0;
	} else {
		fprintf(stderr, "usage: cairnd -c CONF child add PARENT "
		    "CHILD_REQUEST OUT [as=RES] [v4=RES] [v6=RES] [--force]\n"
		    "       cairnd -c CONF child resources PARENT CHILD [as=RES] "
		    "[v4=RES] [v6=RES]\n"
		    "       cairnd -c CONF child remove PARENT CHILD\n");
		rc = 2;
	}
out:
	ca_res_free(res);
	cm_buf_free(&xml);
	free(text);
	pub_oob_free(in);
	return rc;
}
