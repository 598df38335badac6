/*
 * cairn CLI: the parent of a CA whose parent runs elsewhere: parent show,
 * and the files of an offline parent (docs/offline-ta.md): parent
 * offline-request (the request file to carry to it) and parent
 * offline-import (its response file).  Answering a request happens on
 * the offline trust anchor's machine with cairnd, not here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/cairn_cmd.h"
#include "common/cm_err.h"
#include "common/cm_file.h"

/* A response file larger than this is not read (the server's max-body
 * is usually far lower and answers 413). */
#define RESPONSE_MAX	(256 * 1024 * 1024)

static void
print_parent(const struct opts *o, json_t *j)
{
	json_t	*e = json_object_get(j, "entitlement"), *m;
	size_t	 i;

	printf("handle:       %s\nmode:         %s\nparent:       %s\n"
	    "child-handle: %s\nservice-uri:  %s\nclass:        %s\n"
	    "entitlement:  as=%s v4=%s v6=%s\nkey:          %s\n"
	    "pending-key:  %s\nlast-sync:    %s\nnext-sync:    %s\n"
	    "last-error:   %s\n", cmd_js(j, "handle"), cmd_js(j, "mode"),
	    cmd_js(j, "parent"), cmd_js(j, "child_handle"),
	    cmd_js(j, "service_uri"), cmd_js(j, "class"), cmd_js(e, "asn"),
	    cmd_js(e, "ipv4"), cmd_js(e, "ipv6"), cmd_js(j, "active_key"),
	    cmd_js(j, "pending_key"), cmd_js(j, "last_sync"),
	    cmd_js(j, "next_sync"), cmd_js(j, "last_error"));
	if (strcmp(cmd_js(j, "mode"), "offline") != 0)
		return;
	printf("parent-mft:   %s\n", cmd_js(j, "parent_mft_next_update"));
	json_array_foreach(json_object_get(j, "mirror_points"), i, m)
		printf("mirrored:     %s until %s (imported %s by %s)\n",
		    cmd_js(m, "base_uri"), cmd_js(m, "next_update"),
		    cmd_js(m, "imported_at"), cmd_js(m, "imported_by"));
}

int
c_parent_show(struct opts *o)
{
	char	p[1200];

	cmd_path(p, sizeof(p), "/api/v1/cas/%s/parent", o->pos[0]);
	return cmd_run(o, "GET", p, NULL, print_parent);
}

/*
 * parent offline-request HANDLE [FILE]: the request file, written to FILE
 * (replaced whole) or printed.
 */
int
c_parent_off_request(struct opts *o)
{
	struct cm_err	 err;
	json_t		*j;
	char		 p[1200], *s = NULL;
	int		 rc;

	cmd_path(p, sizeof(p), "/api/v1/cas/%s/parent/offline-request",
	    o->pos[0]);
	/* --json prints the body as it came: the file. */
	if ((rc = cmd_call(o, "POST", p, NULL, &j)) != EX_OK ||
	    (o->json && o->pos[1] == NULL))
		goto out;
	if ((s = json_dumps(j, JSON_INDENT(1))) == NULL) {
		fprintf(stderr, "cairn: out of memory\n");
		rc = EX_UNREACHABLE;
		goto out;
	}
	if (o->pos[1] == NULL) {
		printf("%s\n", s);
		goto out;
	}
	if (cm_file_write_atomic(o->pos[1], s, strlen(s), 0644, &err) == -1) {
		fprintf(stderr, "cairn: %s\n", err.msg);
		rc = EX_REFUSED;
		goto out;
	}
	if (!o->json)
		printf("%s: %zu messages for the offline parent in %s\n",
		    o->pos[0], json_array_size(json_object_get(j, "messages")),
		    o->pos[1]);
out:
	free(s);
	json_decref(j);
	return rc;
}

static void
print_import(const struct opts *o, json_t *j)
{
	printf("%s: %lld replies, %lld certificates installed, %lld revoked, "
	    "%lld refused; parent's publication point: %lld objects "
	    "published, %lld withdrawn\n", o->pos[0], cmd_ji(j, "replies"),
	    cmd_ji(j, "installed"), cmd_ji(j, "revoked"), cmd_ji(j, "refused"),
	    cmd_ji(j, "published"), cmd_ji(j, "withdrawn"));
	if (json_is_true(json_object_get(j, "rolling")))
		printf("%s: the parent is rolling its key (RFC 9691): the new "
		    "key's publication point is published too\n", o->pos[0]);
	if (json_is_true(json_object_get(j, "retired")))
		printf("%s: the parent entitles it to nothing any more: its "
		    "publication point is withdrawn\n", o->pos[0]);
	if (json_is_string(json_object_get(j, "parent_mft_next_update")))
		printf("%s: the parent's manifest is valid until %s; the next "
		    "exchange must be imported before then\n", o->pos[0],
		    cmd_js(j, "parent_mft_next_update"));
}

/*
 * parent offline-import HANDLE FILE: the file is sent as it is (the server
 * checks it).  Messages the parent refused make the exit code 1, as with
 * cairnd: the rest of the response was applied.
 */
int
c_parent_off_import(struct opts *o)
{
	struct cm_err	 err;
	uint8_t		*text = NULL;
	size_t		 len;
	json_t		*j = NULL;
	char		 p[1200], *body;
	int		 rc;

	if (cm_file_read(o->pos[1], RESPONSE_MAX, &text, &len, &err) == -1) {
		fprintf(stderr, "cairn: %s\n", err.msg);
		return EX_USAGE;
	}
	if ((body = malloc(len + 1)) == NULL) {
		free(text);
		fprintf(stderr, "cairn: out of memory\n");
		return EX_UNREACHABLE;
	}
	memcpy(body, text, len);
	body[len] = '\0';
	free(text);
	if (strlen(body) != len) {
		fprintf(stderr, "cairn: %s: not a response file (NUL bytes)\n",
		    o->pos[1]);
		free(body);
		return EX_USAGE;
	}
	cmd_path(p, sizeof(p), "/api/v1/cas/%s/parent/offline-response",
	    o->pos[0]);
	rc = cmd_call_raw(o, "POST", p, body, &j);
	free(body);
	if (rc == EX_OK && !o->json)
		print_import(o, j);
	if (rc == EX_OK && cmd_ji(j, "refused") > 0) {
		fprintf(stderr, "cairn: %s: the parent refused %lld messages "
		    "(see the daemon's log)\n", o->pos[0], cmd_ji(j, "refused"));
		rc = EX_REFUSED;
	}
	json_decref(j);
	return rc;
}
