/*
 * cairnd's commands that live outside main_cairnd.c (main_cairnd_offline.c):
 * the offline parent's files and the delegated children of a parent that
 * runs without the API.  Each returns the exit status: 0, 1 (refused, err
 * says why) or 2 (usage).
 */
#ifndef CA_MAIN_CAIRND_H
#define CA_MAIN_CAIRND_H

#include "ca/engine.h"
#include "common/cm_err.h"

/* cairnd parent offline-request|offline-import HANDLE FILE */
int	cairnd_parent_offline(struct ca_eng *e, int argc, char **argv,
	    struct cm_err *err);
/* cairnd offline answer PARENT REQUEST OUT | refresh PARENT OUT */
int	cairnd_offline(struct ca_eng *e, int argc, char **argv,
	    struct cm_err *err);
/* cairnd child add PARENT REQUEST OUT RES... | resources PARENT CHILD RES... */
int	cairnd_child(struct ca_eng *e, int argc, char **argv, struct cm_err *err);

/*
 * The rsync tree of cairnd run's export-dir and of cairnd export DIR
 * (main_cairnd_export.c): root/current becomes a new complete tree of
 * every current object below base (the rsync-base URI), swapped in whole.
 * x (NULL: a one-off export) remembers whether the content store was
 * checked; the first export of each x checks it.  x is freed with
 * cairnd_export_free() (NULL is ok).  Returns 0 or -1.
 */
struct db;
struct cairnd_export;
struct cairnd_export *cairnd_export_new(void);
void	cairnd_export_free(struct cairnd_export *x);
int	cairnd_export(struct db *db, const char *base, const char *root,
	    struct cairnd_export *x, struct cm_err *err);

#endif
