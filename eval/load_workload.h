/* load_workload.h: the prompts of `fc-eval load`: records of a data set (data/dataset.h) asked of a VLM, or
 * synthetic prompts for a bare decoder (core/serve/request.h), behind one fc_serve_workload. */
#ifndef FC_EVAL_LOAD_WORKLOAD_H
#define FC_EVAL_LOAD_WORKLOAD_H

#include "core/model/vlm.h"
#include "core/serve/request.h"
#include "data/dataset.h"

typedef struct {
    fc_vlm *vlm;             /* the model (borrowed) */
    const fc_dataset *data;  /* the records (borrowed) */
} fc_load_vlm_data;

/* Each record's first question about its images; lengths come from the prompt layout (images preprocessed,
 * not encoded), builds run the vision tower. ctx must outlive w. */
void fc_load_vlm_workload(fc_load_vlm_data *ctx, fc_serve_workload *w);

#endif
