/*
 * cm_conf: strict INI loading on top of libinih.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "common/cm_conf.h"

/* State of one load, passed through ini_parse's user pointer. */
struct load {
	const char		*name;
	const struct cm_conf_key *keys;
	size_t			 nkeys;
	unsigned char		*seen;	/* one flag per key */
	struct cm_err		*err;
	int			 failed;
	int			 line;	/* lines read so far */
	FILE			*file;	/* one of file and text */
	const char		*text;
};

/*
 * Debian's libinih does not pass line numbers to handlers, so lines are
 * counted here, in the reader that feeds the parser one line at a time.
 */
static char *
reader(char *buf, int size, void *stream)
{
	struct load	*l = stream;
	size_t		 n;
	const char	*nl;

	if (l->file != NULL) {
		if (fgets(buf, size, l->file) == NULL)
			return NULL;
	} else {
		if (*l->text == '\0')
			return NULL;
		nl = strchr(l->text, '\n');
		n = nl != NULL ? (size_t)(nl - l->text) + 1 : strlen(l->text);
		if (n > (size_t)size - 1)
			n = (size_t)size - 1;
		memcpy(buf, l->text, n);
		buf[n] = '\0';
		l->text += n;
	}
	l->line++;
	return buf;
}

int
cm_conf_parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

/* Decimal number followed by one optional unit from units/mults. */
static int
parse_scaled(const char *s, const char *units, const long long *mults,
    long long *out)
{
	char		*end;
	long long	 v, m = 1;
	const char	*u;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0)
		return -1;
	if (*end != '\0') {
		if (end[1] != '\0' || (u = strchr(units, *end)) == NULL)
			return -1;
		m = mults[u - units];
	}
	if (v > LLONG_MAX / m)
		return -1;
	*out = v * m;
	return 0;
}

int
cm_conf_parse_duration(const char *s, long long *out)
{
	static const long long mults[] = { 1, 60, 3600, 86400 };

	return parse_scaled(s, "smhd", mults, out);
}

int
cm_conf_parse_size(const char *s, long long *out)
{
	static const long long mults[] = { 1024, 1024, 1024LL * 1024,
	    1024LL * 1024 * 1024, 1024LL * 1024 * 1024 * 1024 };

	return parse_scaled(s, "kKMGT", mults, out);
}

static int
set_value(struct load *l, const struct cm_conf_key *k, const char *value)
{
	long long	 n;
	char		*end, *copy;
	const char	*what;

	switch (k->type) {
	case CM_CONF_STR:
		if ((copy = strdup(value)) == NULL)
			return cm_err_set(l->err, CM_ENOMEM, l->name, "out of memory");
		free(*(char **)k->target);
		*(char **)k->target = copy;
		return 0;
	case CM_CONF_BOOL:
		if (cm_conf_parse_bool(value, (int *)k->target) == -1)
			return cm_err_set(l->err, CM_EINVAL, l->name,
			    "line %d: %s.%s: \"%s\" is not yes/no", l->line,
			    k->section, k->name, value);
		return 0;
	case CM_CONF_INT:
		what = "an integer";
		errno = 0;
		n = strtoll(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0')
			goto bad;
		break;
	case CM_CONF_DURATION:
		what = "a duration (e.g. 90s, 15m, 48h, 7d)";
		if (cm_conf_parse_duration(value, &n) == -1)
			goto bad;
		break;
	case CM_CONF_SIZE:
		what = "a size (e.g. 512k, 32M)";
		if (cm_conf_parse_size(value, &n) == -1)
			goto bad;
		break;
	default:
		return cm_err_set(l->err, CM_EINVAL, l->name, "bad key table");
	}
	if ((k->min != 0 || k->max != 0) && (n < k->min || n > k->max))
		return cm_err_set(l->err, CM_EINVAL, l->name,
		    "line %d: %s.%s: %lld is outside %lld..%lld", l->line,
		    k->section, k->name, n, k->min, k->max);
	*(long long *)k->target = n;
	return 0;
bad:
	return cm_err_set(l->err, CM_EINVAL, l->name,
	    "line %d: %s.%s: \"%s\" is not %s", l->line, k->section, k->name,
	    value, what);
}

static int
handler(void *user, const char *section, const char *name, const char *value)
{
	struct load	*l = user;
	size_t		 i;
	int		 known_section = 0;
	int		 lineno = l->line;

	if (l->failed)
		return 0;
	for (i = 0; i < l->nkeys; i++) {
		if (strcmp(l->keys[i].section, section) != 0)
			continue;
		known_section = 1;
		if (strcmp(l->keys[i].name, name) != 0)
			continue;
		if (l->seen[i]) {
			cm_err_set(l->err, CM_EINVAL, l->name,
			    "line %d: %s.%s given twice", lineno, section, name);
			l->failed = 1;
			return 0;
		}
		l->seen[i] = 1;
		if (set_value(l, &l->keys[i], value) == -1) {
			l->failed = 1;
			return 0;
		}
		return 1;
	}
	if (!known_section)
		cm_err_set(l->err, CM_EINVAL, l->name,
		    "line %d: unknown section [%s]", lineno, section);
	else
		cm_err_set(l->err, CM_EINVAL, l->name,
		    "line %d: unknown key \"%s\" in [%s]", lineno, name, section);
	l->failed = 1;
	return 0;
}

static int
finish(struct load *l, int rc)
{
	size_t i;

	if (rc == 0 && !l->failed) {
		for (i = 0; i < l->nkeys; i++) {
			if (l->keys[i].required && !l->seen[i]) {
				cm_err_set(l->err, CM_EINVAL, l->name,
				    "missing required key %s.%s",
				    l->keys[i].section, l->keys[i].name);
				l->failed = 1;
				break;
			}
		}
	} else if (!l->failed) {
		/* inih's own syntax error (no '=' or an unclosed section). */
		cm_err_set(l->err, CM_EINVAL, l->name, "line %d: syntax error",
		    rc > 0 ? rc : 0);
		l->failed = 1;
	}
	free(l->seen);
	return l->failed ? -1 : 0;
}

static int
begin(struct load *l, const char *name, const struct cm_conf_key *keys,
    size_t nkeys, struct cm_err *err)
{
	memset(l, 0, sizeof(*l));
	l->name = name;
	l->keys = keys;
	l->nkeys = nkeys;
	l->err = err;
	if ((l->seen = calloc(nkeys + 1, 1)) == NULL)
		return cm_err_set(err, CM_ENOMEM, name, "out of memory");
	return 0;
}

int
cm_conf_load_string(const char *name, const char *text,
    const struct cm_conf_key *keys, size_t nkeys, struct cm_err *err)
{
	struct load l;

	if (begin(&l, name, keys, nkeys, err) == -1)
		return -1;
	l.text = text;
	return finish(&l, ini_parse_stream(reader, &l, handler, &l));
}

int
cm_conf_load(const char *path, const struct cm_conf_key *keys, size_t nkeys,
    struct cm_err *err)
{
	struct load	 l;
	FILE		*f;
	int		 rc;

	if ((f = fopen(path, "r")) == NULL)
		return cm_err_set(err, CM_EIO, path, "cannot open: %s",
		    strerror(errno));
	if (begin(&l, path, keys, nkeys, err) == -1) {
		fclose(f);
		return -1;
	}
	l.file = f;
	rc = ini_parse_stream(reader, &l, handler, &l);
	fclose(f);
	return finish(&l, rc);
}

void
cm_conf_free_strings(const struct cm_conf_key *keys, size_t nkeys)
{
	size_t i;

	for (i = 0; i < nkeys; i++) {
		if (keys[i].type == CM_CONF_STR) {
			free(*(char **)keys[i].target);
			*(char **)keys[i].target = NULL;
		}
	}
}
