/*
 * cm_conf: strict INI configuration files (libinih) for the daemons and the
 * CLI.
 *
 * A program describes every key it accepts in a table of struct cm_conf_key;
 * cm_conf_load() fills the targets from a file.  Unknown sections or keys, a
 * key given twice, values of the wrong type or out of range, and required
 * keys that are missing are errors naming the file, the line and the key:
 * a typo in an RIR's configuration must stop the daemon, not be ignored.
 */
#ifndef CM_CONF_H
#define CM_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "common/cm_err.h"

enum cm_conf_type {
	CM_CONF_STR,		/* char **: malloc'd copy, replaces the default */
	CM_CONF_INT,		/* long long *: within [min, max] */
	CM_CONF_BOOL,		/* int *: yes/no, true/false, on/off, 1/0 */
	CM_CONF_DURATION,	/* long long * seconds: "90", "90s", "15m", "48h", "7d" */
	CM_CONF_SIZE,		/* long long * bytes: "512", "64k", "32M", "1G" (binary) */
};

struct cm_conf_key {
	const char		*section;	/* "" for keys before any section */
	const char		*name;
	enum cm_conf_type	 type;
	void			*target;	/* see enum cm_conf_type */
	long long		 min, max;	/* INT/DURATION/SIZE; both 0: no range */
	int			 required;
	const char		*help;		/* one line, for cm_conf_dump() */
};

/*
 * Reads path and sets the targets of keys.  Targets keep their prior
 * (default) values when a key is absent.  Returns 0, or -1 with err
 * (CM_EIO when the file cannot be read, CM_EINVAL "path:line: ..." for
 * content).  On error some targets may already be set; CM_CONF_STR targets
 * are always either their old value or a malloc'd string the caller owns
 * (free with cm_conf_free_strings()).
 */
int	cm_conf_load(const char *path, const struct cm_conf_key *keys,
	    size_t nkeys, struct cm_err *err);

/* Same from a NUL-terminated string; name is used in messages. */
int	cm_conf_load_string(const char *name, const char *text,
	    const struct cm_conf_key *keys, size_t nkeys, struct cm_err *err);

/*
 * Frees and NULLs every CM_CONF_STR target of keys.  Only for targets whose
 * values are malloc'd (defaults must be NULL or malloc'd too).
 */
void	cm_conf_free_strings(const struct cm_conf_key *keys, size_t nkeys);

/* Parsers used by the loader, exported for the CLI's flags.  0 or -1. */
int	cm_conf_parse_bool(const char *s, int *out);
int	cm_conf_parse_duration(const char *s, long long *out);
int	cm_conf_parse_size(const char *s, long long *out);

#endif
