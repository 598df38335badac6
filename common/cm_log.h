/*
 * cm_log: the process logger (one of the two allowed pieces of global state,
 * with the loaded configuration).  Lines go to stderr, or to syslog-style
 * files chosen by the daemon.  Never log keys, PINs or tokens.
 */
#ifndef CM_LOG_H
#define CM_LOG_H

enum cm_loglevel { CM_LOG_DEBUG, CM_LOG_INFO, CM_LOG_WARN, CM_LOG_ERR };

/* Sets the lowest level that is printed (default CM_LOG_INFO) and the program name. */
void	cm_log_init(const char *progname, enum cm_loglevel min);

/* Parses "debug", "info", "warning", "error".  Returns 0, or -1 if unknown. */
int	cm_log_parse_level(const char *s, enum cm_loglevel *out);

void	cm_log(enum cm_loglevel lvl, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#define cm_debug(...)	cm_log(CM_LOG_DEBUG, __VA_ARGS__)
#define cm_info(...)	cm_log(CM_LOG_INFO, __VA_ARGS__)
#define cm_warn(...)	cm_log(CM_LOG_WARN, __VA_ARGS__)
#define cm_error(...)	cm_log(CM_LOG_ERR, __VA_ARGS__)

#endif
