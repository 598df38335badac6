/*
 * ca_import: parse a file of CAs and create them in batches.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/desc.h"
#include "ca/import.h"
#include "common/cm_buf.h"

#define IMPORT_TOK	16
#define IMPORT_BATCH	500

void
ca_import_free(struct ca_import *im)
{
	size_t i;

	if (im == NULL)
		return;
	for (i = 0; i < im->n; i++) {
		free((char *)im->cas[i].handle);
		free((char *)im->cas[i].parent);
		ca_res_free((struct ca_res *)im->cas[i].res);
	}
	free(im->cas);
	free(im->line);
	free(im->name);
	free(im);
}

/*
 * Splits a CSV line (modified) into fields; a field may be quoted ("" is
 * a quote).  Returns the number of fields, or -1 for an unclosed quote.
 */
static int
csv_fields(char *s, char *f[IMPORT_TOK])
{
	int	 n = 0;
	char	*w;

	for (;;) {
		if (n == IMPORT_TOK)
			return n + 1;	/* too many: the caller says so */
		f[n++] = w = s;
		if (*s == '"') {
			f[n - 1] = w = ++s;
			for (;;) {
				if (*s == '\0')
					return -1;
				if (*s == '"' && s[1] == '"') {
					*w++ = '"';
					s += 2;
				} else if (*s == '"') {
					s++;
					break;
				} else
					*w++ = *s++;
			}
			/* Text after the closing quote up to the comma. */
			while (*s != ',' && *s != '\0')
				*w++ = *s++;
		} else {
			while (*s != ',' && *s != '\0')
				s++;
			w = s;
		}
		if (*s == '\0') {
			*w = '\0';
			return n;
		}
		s++;
		*w = '\0';
	}
}

/* Trims blanks at both ends (in place). */
static char *
trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
	    s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

/* Several ranges in one field: ';' and blanks separate them too. */
static void
commas(char *s)
{
	char	*start = s, *w = s;
	int	 sep = 0;

	for (; *s != '\0'; s++) {
		if (*s == ';' || *s == ' ' || *s == '\t' || *s == ',') {
			sep = 1;
			continue;
		}
		if (sep && w != start)
			*w++ = ',';
		sep = 0;
		*w++ = *s;
	}
	*w = '\0';
}

/* Same rule as the engine's handles: fail early, with the line. */
static int
handle_ok(const char *h)
{
	size_t i, n = strlen(h);

	if (n == 0 || n > 64)
		return 0;
	for (i = 0; i < n; i++)
		if (!((h[i] >= 'a' && h[i] <= 'z') || (h[i] >= 'A' && h[i] <= 'Z') ||
		    (h[i] >= '0' && h[i] <= '9') ||
		    (i > 0 && (h[i] == '-' || h[i] == '_' || h[i] == '.'))))
			return 0;
	return 1;
}

/* One CSV line into a handle, a parent and a new set. */
static int
parse_csv(char *line, const char *where, char **h, char **p,
    struct ca_res **out, struct cm_err *err)
{
	static const enum ca_res_family fam[3] = { CA_RES_AS, CA_RES_V4,
	    CA_RES_V6 };
	static const char *const fname[3] = { "asns", "ipv4", "ipv6" };
	struct ca_res	*r;
	char		*f[IMPORT_TOK], what[400];
	int		 n, i;

	if ((n = csv_fields(line, f)) == -1)
		return cm_err_set(err, CM_EINVAL, where, "unclosed quote");
	if (n < 2 || n > 5)
		return cm_err_set(err, CM_EINVAL, where, "expected handle,parent,"
		    "asns,ipv4,ipv6 (5 fields), got %d", n);
	*h = trim(f[0]);
	*p = trim(f[1]);
	if ((r = ca_res_new()) == NULL)
		return cm_err_set(err, CM_ENOMEM, where, "out of memory");
	for (i = 2; i < n; i++) {
		commas(f[i]);
		snprintf(what, sizeof(what), "%s: %s", where, fname[i - 2]);
		if (ca_res_parse(r, fam[i - 2], trim(f[i]), what, err) == -1) {
			ca_res_free(r);
			return -1;
		}
	}
	*out = r;
	return 0;
}

/* "ca NAME PARENT [as=] [v4=] [v6=]" */
static int
parse_desc(char *line, const char *where, char **h, char **p,
    struct ca_res **out, struct cm_err *err)
{
	char	*tok[IMPORT_TOK], *s, *save = NULL;
	size_t	 n = 0;

	for (s = strtok_r(line, " \t\r", &save); s != NULL;
	    s = strtok_r(NULL, " \t\r", &save)) {
		if (n == IMPORT_TOK)
			return cm_err_set(err, CM_EINVAL, where, "too many words");
		tok[n++] = s;
	}
	if (n < 3)
		return cm_err_set(err, CM_EINVAL, where, "ca needs NAME PARENT");
	*h = tok[1];
	*p = tok[2];
	return ca_desc_parse_res(tok + 3, n - 3, where, out, err);
}

static int
add(struct ca_import *im, size_t *cap, char *h, char *p, struct ca_res *r,
    size_t lineno, const char *where, struct cm_err *err)
{
	struct ca_eng_new_ca	*c;
	size_t			*l, nc;

	if (!handle_ok(h) || !handle_ok(p)) {
		ca_res_free(r);
		return cm_err_set(err, CM_EINVAL, where, "bad handle \"%s\": 1-64 "
		    "letters, digits, '-', '_' or '.', starting with a letter or "
		    "digit", handle_ok(h) ? p : h);
	}
	if (im->n == *cap) {
		nc = *cap == 0 ? 64 : 2 * *cap;
		if ((c = realloc(im->cas, nc * sizeof(*c))) == NULL) {
			ca_res_free(r);
			return cm_err_set(err, CM_ENOMEM, where, "out of memory");
		}
		im->cas = c;
		if ((l = realloc(im->line, nc * sizeof(*l))) == NULL) {
			ca_res_free(r);
			return cm_err_set(err, CM_ENOMEM, where, "out of memory");
		}
		im->line = l;
		*cap = nc;
	}
	c = &im->cas[im->n];
	memset(c, 0, sizeof(*c));
	c->res = r;
	im->line[im->n] = lineno;
	im->n++;
	if ((c->handle = strdup(h)) == NULL || (c->parent = strdup(p)) == NULL)
		return cm_err_set(err, CM_ENOMEM, where, "out of memory");
	return 0;
}

int
ca_import_parse(const char *name, const char *text, struct ca_import **out,
    struct cm_err *err)
{
	struct ca_import	*im;
	struct ca_res		*r = NULL;
	char			*copy, *line, *save, *s, *h = NULL, *p = NULL,
				 where[300];
	size_t			 lineno = 0, cap = 0;
	int			 first = 1, rc = -1;

	if ((im = calloc(1, sizeof(*im))) == NULL ||
	    (im->name = strdup(name)) == NULL || (copy = strdup(text)) == NULL) {
		ca_import_free(im);
		return cm_err_set(err, CM_ENOMEM, name, "out of memory");
	}
	save = copy;
	/* strsep keeps empty lines, so that line numbers stay right. */
	while ((line = strsep(&save, "\n")) != NULL) {
		lineno++;
		if ((s = strchr(line, '#')) != NULL)
			*s = '\0';
		line = trim(line);
		if (*line == '\0')
			continue;
		snprintf(where, sizeof(where), "%s:%zu", name, lineno);
		if (first && strncmp(line, "handle,", 7) == 0) {
			first = 0;
			continue;	/* the CSV header */
		}
		first = 0;
		if (strncmp(line, "ca ", 3) == 0 || strncmp(line, "ca\t", 3) == 0)
			rc = parse_desc(line, where, &h, &p, &r, err);
		else if (strchr(line, ',') != NULL)
			rc = parse_csv(line, where, &h, &p, &r, err);
		else
			rc = cm_err_set(err, CM_EINVAL, where, "expected a CSV line "
			    "handle,parent,asns,ipv4,ipv6 or \"ca NAME PARENT "
			    "[as=..] [v4=..] [v6=..]\"");
		if (rc == -1 || (rc = add(im, &cap, h, p, r, lineno, where,
		    err)) == -1)
			goto out;
	}
	if (im->n == 0) {
		rc = cm_err_set(err, CM_EINVAL, name, "no CAs in the file");
		goto out;
	}
	rc = 0;
out:
	free(copy);
	if (rc == -1)
		ca_import_free(im);
	else
		*out = im;
	return rc;
}

/* ---- applying ---------------------------------------------------------- */

/*
 * Marks in skip[] the entries that exist already under the same parent;
 * an entry that exists under another parent is an error.
 */
static int
existing(struct db *db, const struct ca_import *im, char *skip,
    size_t *nskip, struct cm_err *err)
{
	struct cm_buf		 arr = CM_BUF_INIT;
	struct db_params	 p;
	struct db_res		*r = NULL;
	char			 where[300];
	size_t			 i, lo, hi, mid;
	int			 rows, k, c, rc = -1;

	*nskip = 0;
	/* Handles are checked: no quoting needed in the array literal. */
	cm_buf_puts(&arr, "{");
	for (i = 0; i < im->n; i++)
		cm_buf_printf(&arr, "%s%s", i ? "," : "", im->cas[i].handle);
	cm_buf_puts(&arr, "}");
	db_params_init(&p);
	db_param_text(&p, cm_buf_cstr(&arr));
	if ((rows = db_exec(db, "SELECT c.handle, coalesce(p.handle, '') FROM "
	    "ca c LEFT JOIN ca p ON p.id = c.parent_id WHERE c.deleted_at IS "
	    "NULL AND c.handle = ANY($1::text[]) ORDER BY c.handle COLLATE "
	    "\"C\"", &p, &r, err)) == -1)
		goto out;
	for (i = 0; i < im->n; i++) {
		/* Binary search of the sorted result. */
		lo = 0;
		hi = (size_t)rows;
		k = -1;
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			c = strcmp(db_res_text(r, (int)mid, 0), im->cas[i].handle);
			if (c == 0) {
				k = (int)mid;
				break;
			}
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (k == -1)
			continue;
		if (strcmp(db_res_text(r, k, 1), im->cas[i].parent) != 0) {
			snprintf(where, sizeof(where), "%s:%zu", im->name,
			    im->line[i]);
			cm_err_set(err, CM_EEXIST, where, "%s exists with parent "
			    "%s, not %s", im->cas[i].handle,
			    *db_res_text(r, k, 1) ? db_res_text(r, k, 1) :
			    "(none)", im->cas[i].parent);
			goto out;
		}
		skip[i] = 1;
		(*nskip)++;
	}
	rc = 0;
out:
	db_res_free(r);
	cm_buf_free(&arr);
	return rc;
}

struct prog {
	ca_import_progress_fn	 fn;
	void			*arg;
	size_t			 batch, nbatches;
};

static void
batch_progress(void *arg, const char *phase, size_t done, size_t total)
{
	struct prog *p = arg;

	p->fn(p->arg, p->batch, p->nbatches, phase, done, total);
}

int
ca_import_apply(struct ca_eng *e, struct db *db, const struct ca_import *im,
    size_t batch, unsigned threads, const char *actor,
    ca_import_progress_fn progress, void *arg, struct ca_import_result *res,
    struct cm_err *err)
{
	struct ca_eng_new_ca	*todo = NULL;
	size_t			*line = NULL, i, n = 0, at, k, bad;
	char			*skip = NULL, where[300];
	struct prog		 pg = { progress, arg, 0, 0 };
	int			 rc = -1;

	memset(res, 0, sizeof(*res));
	if (batch == 0)
		batch = IMPORT_BATCH;
	if ((skip = calloc(im->n, 1)) == NULL ||
	    (todo = calloc(im->n, sizeof(*todo))) == NULL ||
	    (line = calloc(im->n, sizeof(*line))) == NULL) {
		cm_err_set(err, CM_ENOMEM, im->name, "out of memory");
		goto out;
	}
	if (existing(db, im, skip, &res->existing, err) == -1)
		goto out;
	for (i = 0; i < im->n; i++)
		if (!skip[i]) {
			todo[n] = im->cas[i];
			line[n++] = im->line[i];
		}
	pg.nbatches = (n + batch - 1) / batch;
	for (at = 0; at < n; at += k) {
		k = n - at < batch ? n - at : batch;
		pg.batch = at / batch + 1;
		if (ca_eng_ca_create_many(e, todo + at, k, threads, actor,
		    progress != NULL ? batch_progress : NULL, &pg, &bad,
		    err) == -1) {
			if (bad < k) {
				snprintf(where, sizeof(where), "%s:%zu", im->name,
				    line[at + bad]);
				cm_err_wrap(err, where);
			}
			goto out;
		}
		res->created += k;
		res->batches++;
	}
	rc = 0;
out:
	free(skip);
	free(todo);
	free(line);
	return rc;
}
