/*
 * cairn CLI: RFC 8181 publishers (publisher list|add|show|remove) and the
 * bulk import of member resources (import resources FILE).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "api/api_client.h"
#include "api/api_import.h"
#include "api/cairn_cmd.h"
#include "common/cm_buf.h"
#include "common/cm_err.h"
#include "common/cm_file.h"

static void
print_pub(const struct opts *o, json_t *p)
{
	printf("handle:       %s\nkind:         %s\nsia base:     %s\n"
	    "objects:      %lld\ncreated:      %s\n", cmd_js(p, "handle"),
	    cmd_js(p, "kind"), cmd_js(p, "sia_base"), cmd_ji(p, "objects"),
	    cmd_js(p, "created_at"));
	if (json_is_string(json_object_get(p, "service_uri")))
		printf("service uri:  %s\n", cmd_js(p, "service_uri"));
	if (json_is_string(json_object_get(p, "repository_response")))
		printf("repository_response:\n%s", cmd_js(p,
		    "repository_response"));
}

static void
print_pubs(const struct opts *o, json_t *j)
{
	json_t	*p;
	size_t	 i;

	printf("%-24s %-7s %-8s %s\n", "HANDLE", "KIND", "OBJECTS",
	    "SIA-BASE");
	json_array_foreach(json_object_get(j, "publishers"), i, p)
		printf("%-24s %-7s %-8lld %s\n", cmd_js(p, "handle"),
		    cmd_js(p, "kind"), cmd_ji(p, "objects"),
		    cmd_js(p, "sia_base"));
	if (json_is_string(json_object_get(j, "next")))
		printf("(more: --after %s)\n", cmd_js(j, "next"));
}

int
c_pub_list(struct opts *o)
{
	struct cm_buf	 q = CM_BUF_INIT;
	char		 sep = '?';
	int		 rc;

	cm_buf_puts(&q, "/api/v1/publishers");
	cmd_query(&q, &sep, "kind", o->kind);
	cmd_query(&q, &sep, "limit", o->limit);
	cmd_query(&q, &sep, "after", o->after);
	rc = cmd_run(o, "GET", cm_buf_cstr(&q), NULL, print_pubs);
	cm_buf_free(&q);
	return rc;
}

static void
print_pub_added(const struct opts *o, json_t *j)
{
	fputs(cmd_js(j, "repository_response"), stdout);
	fprintf(stderr, "cairn: publisher %s added with base %s\n",
	    cmd_js(j, "handle"), cmd_js(j, "sia_base"));
}

/* publisher add FILE: prints the RFC 8183 repository_response. */
int
c_pub_add(struct opts *o)
{
	json_t	*b;
	int	 rc;

	if ((rc = cmd_read_text(o->pos[0], "publisher_request", &b)) != EX_OK)
		return rc;
	if (o->handle != NULL)
		json_object_set_new(b, "handle", json_string(o->handle));
	return cmd_run(o, "POST", "/api/v1/publishers", b, print_pub_added);
}

int
c_pub_show(struct opts *o)
{
	char	p[1200];

	cmd_path(p, sizeof(p), "/api/v1/publishers/%s", o->pos[0]);
	return cmd_run(o, "GET", p, NULL, print_pub);
}

static void
print_pub_removed(const struct opts *o, json_t *j)
{
	printf("removed publisher %s (%lld object(s) withdrawn)\n",
	    o->pos[0], cmd_ji(j, "withdrawn"));
}

int
c_pub_remove(struct opts *o)
{
	char	p[1200];

	cmd_path(p, sizeof(p), "/api/v1/publishers/%s", o->pos[0]);
	return cmd_run(o, "DELETE", p, NULL, print_pub_removed);
}

/* ---- import resources FILE ---- */
struct import_ui {
	int		 tty, json, dry_run;
	const char	*file;
	int		 last;		/* percent drawn */
	json_t		*errors;
};

static const char *what_name[] = { "created", "updated", "unchanged",
    "failed", "skipped" };

static void
import_cb(void *arg, const struct api_import_rec *r, enum api_import_what what,
    const char *msg, size_t done, size_t total)
{
	struct import_ui	*ui = arg;
	int			 pct = (int)(done * 100 / total), i;

	if (msg != NULL) {
		if (ui->json)
			json_array_append_new(ui->errors, json_pack("{s:i, s:s, "
			    "s:s, s:s}", "line", r->line, "handle", r->handle,
			    "result", what_name[what], "message", msg));
		else
			fprintf(stderr, "%scairn: %s: line %d: %s: %s: %s\n",
			    ui->tty ? "\r\033[K" : "", ui->file, r->line,
			    r->handle, what_name[what], msg);
		ui->last = -1;
	}
	if (!ui->tty || (pct == ui->last && done != total))
		return;
	ui->last = pct;
	fputs("\r[", stderr);
	for (i = 0; i < 40; i++)
		fputc(i < pct * 40 / 100 ? '#' : '.', stderr);
	fprintf(stderr, "] %zu/%zu %s", done, total, done == total ? "\n" :
	    "");
	fflush(stderr);
}

int
c_import(struct opts *o)
{
	struct api_import	*im = NULL;
	struct api_import_stats	 st;
	struct api_http_opts	 ho;
	struct import_ui	 ui;
	struct cm_err		 err;
	uint8_t			*buf = NULL;
	size_t			 len;
	json_t			*sum;
	int			 rc, w;

	if (cm_file_read(o->pos[0], 256 * 1024 * 1024, &buf, &len, &err) ==
	    -1 || api_import_parse(o->pos[0], (const char *)buf, len, &im,
	    &err) == -1) {
		fprintf(stderr, "cairn: %s\n", err.msg);
		free(buf);
		return EX_USAGE;
	}
	free(buf);
	memset(&ui, 0, sizeof(ui));
	ui.tty = isatty(STDERR_FILENO) && !o->json;
	ui.json = o->json;
	ui.file = o->pos[0];
	ui.last = -1;
	ui.errors = json_array();
	cmd_http_opts(o, 120000, &ho);
	rc = api_import_run(im, o->url, &ho, o->dry_run, import_cb, &ui, &st,
	    &err);
	if (rc == -1)
		fprintf(stderr, "%scairn: %s\n", ui.tty ? "\r\033[K" : "",
		    err.msg);
	if (o->json) {
		sum = json_pack("{s:b, s:I, s:o}", "dry_run", o->dry_run,
		    "members", (json_int_t)im->n, "errors", ui.errors);
		for (w = 0; w < 5; w++)
			json_object_set_new(sum, what_name[w],
			    json_integer((json_int_t)st.n[w]));
		json_dumpf(sum, stdout, JSON_COMPACT | JSON_SORT_KEYS);
		putchar('\n');
		json_decref(sum);
	} else {
		json_decref(ui.errors);
		printf("%s%s: %zu members: %zu created, %zu updated, %zu "
		    "unchanged, %zu failed, %zu skipped%s\n", o->dry_run ?
		    "dry run, nothing changed: " : "", o->pos[0], im->n,
		    st.n[API_IMPORT_CREATED], st.n[API_IMPORT_UPDATED],
		    st.n[API_IMPORT_UNCHANGED], st.n[API_IMPORT_FAILED],
		    st.n[API_IMPORT_SKIPPED], rc == -1 ? " (stopped: the "
		    "server is unreachable or failed)" : "");
	}
	api_import_free(im);
	return rc == -1 ? EX_UNREACHABLE : rc == 1 ? EX_REFUSED : EX_OK;
}
