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

#endif
