/*
 * cairn CLI: trust anchors: ta create|show|tal [--next], and their key
 * roll (RFC 9691): ta-keyroll start|finish [--force]|status.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "api/cairn_cmd.h"
#include "common/cm_buf.h"
#include "common/cm_enc.h"
#include "common/cm_err.h"

static void
print_ta(const struct opts *o, json_t *t)
{
	json_t	*v;
	size_t	 i;

	printf("handle:    %s\nkind:      ta\n", cmd_js(t, "handle"));
	cmd_print_res(json_object_get(t, "resources"));
	printf("created:   %s\nnot-after: %s\nkey:       %s\ncert:      %s\n",
	    cmd_js(t, "created_at"), cmd_js(t, "not_after"),
	    cmd_js(t, "key_id"), cmd_js(t, "cert_uri"));
	json_array_foreach(json_object_get(t, "tal_uris"), i, v)
		printf("tal-uri:   %s\n", json_string_value(v));
	json_array_foreach(json_object_get(t, "children"), i, v)
		printf("child:     %s\n", json_string_value(v));
}

int
c_ta_create(struct opts *o)
{
	return cmd_run(o, "POST", "/api/v1/ta", json_pack("{s:s, s:o}",
	    "handle", o->pos[0], "resources", cmd_res_body(o)), print_ta);
}

/* Writes the base64 DER certificate of ta show to path. */
static int
write_cert(const char *path, json_t *t)
{
	struct cm_buf	 der = CM_BUF_INIT;
	struct cm_err	 err;
	const char	*b64 = json_string_value(json_object_get(t,
			    "certificate"));
	FILE		*f;
	int		 rc = EX_UNREACHABLE;

	if (b64 == NULL || cm_b64_decode(b64, strlen(b64), &der, &err) == -1 ||
	    der.len == 0) {
		fprintf(stderr, "cairn: the server sent no certificate\n");
		goto out;
	}
	if ((f = fopen(path, "wb")) == NULL ||
	    fwrite(der.data, 1, der.len, f) != der.len || fclose(f) != 0) {
		fprintf(stderr, "cairn: %s: cannot write the certificate\n",
		    path);
		rc = EX_REFUSED;
		goto out;
	}
	rc = EX_OK;
out:
	cm_buf_free(&der);
	return rc;
}

int
c_ta_show(struct opts *o)
{
	json_t	*j;
	char	 p[1200];
	int	 rc;

	cmd_path(p, sizeof(p), "/api/v1/ta/%s", o->pos[0]);
	if ((rc = cmd_call(o, "GET", p, NULL, &j)) == EX_OK) {
		if (o->cert != NULL)
			rc = write_cert(o->cert, j);
		if (rc == EX_OK && !o->json)
			print_ta(o, j);
	}
	json_decref(j);
	return rc;
}

static void
print_tal(const struct opts *o, json_t *j)
{
	fputs(cmd_js(j, "tal"), stdout);
}

/* ta tal HANDLE [--next]: --next is the new key's TAL during a roll. */
int
c_ta_tal(struct opts *o)
{
	char	p[1200];

	cmd_path(p, sizeof(p), o->next ? "/api/v1/ta/%s/tal/next" :
	    "/api/v1/ta/%s/tal", o->pos[0]);
	return cmd_run(o, "GET", p, NULL, print_tal);
}

static void
print_roll(const struct opts *o, json_t *j)
{
	json_t	*ok = json_object_get(j, "finish_allowed");

	printf("handle:          %s\nrolling:         %s\nactive key:      "
	    "%s\n", cmd_js(j, "handle"), json_is_true(json_object_get(j,
	    "rolling")) ? "yes" : "no", cmd_js(j, "active_key"));
	if (!json_is_true(json_object_get(j, "rolling")))
		return;
	printf("next key:        %s\nnext cert:       %s\nstarted:         "
	    "%s\nacceptance ends: %s\nfinish:          %s\n",
	    cmd_js(j, "next_key"), cmd_js(j, "next_cert_uri"),
	    cmd_js(j, "started_at"), cmd_js(j, "acceptance_ends_at"),
	    json_is_true(ok) ? "allowed" : "waits for the acceptance period "
	    "(or --force)");
}

/* POST /ta/{h}/keyroll with step. */
static int
ta_roll_step(struct opts *o, const char *step)
{
	char	p[1200];

	cmd_path(p, sizeof(p), "/api/v1/ta/%s/keyroll", o->pos[0]);
	return cmd_run(o, "POST", p, json_pack("{s:s, s:b}", "step", step,
	    "force", o->force), print_roll);
}

int
c_takr_start(struct opts *o)
{
	int	rc;

	if (o->force) {
		fprintf(stderr, "cairn: ta-keyroll start: --force applies to "
		    "finish only\n");
		return EX_USAGE;
	}
	if ((rc = ta_roll_step(o, "start")) == EX_OK && !o->json)
		printf("publish the new TAL: cairn ta tal %s --next\n",
		    o->pos[0]);
	return rc;
}

int
c_takr_finish(struct opts *o)
{
	return ta_roll_step(o, "finish");
}

int
c_takr_status(struct opts *o)
{
	char	p[1200];

	cmd_path(p, sizeof(p), "/api/v1/ta/%s/keyroll", o->pos[0]);
	return cmd_run(o, "GET", p, NULL, print_roll);
}
