/* Unit tests of the run form (app/runform.c): every field's rule with
 * good and hostile values, defaults from an inspection report, the
 * checkbox convention, and the JSON round trip into job bodies. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "../th.h"
#include "form.h"
#include "runform.h"
#include "jobs.h"

/* Parses "a=1&b=2" (urlencoded) and runs the form over the defaults. */
static size_t
parse(const char *body, struct runform *rf, struct runform_err *errs)
{
	struct form f;
	size_t n;

	memset(&f, 0, sizeof(f));
	if (form_parse(&f, body, strlen(body)) != FORM_OK)
		return 99;
	runform_defaults(rf, NULL);
	n = runform_parse(&f, rf, errs, RUNFORM_ERRS_MAX);
	form_free(&f);
	return n;
}

static const struct {
	const char *body;
	const char *bad_field; /* NULL: valid */
} rows[] = {
    {"dataset_id=3", NULL},
    {"", "dataset_id"},
    {"dataset_id=0", "dataset_id"},
    {"dataset_id=-4", "dataset_id"},
    {"dataset_id=3x", "dataset_id"},
    {"dataset_id=99999999999999999999999", "dataset_id"},
    {"dataset_id=1&epochs=0", "epochs"},
    {"dataset_id=1&epochs=201", "epochs"},
    {"dataset_id=1&epochs=2.5", "epochs"},
    {"dataset_id=1&epochs=%20%207%20", NULL},
    {"dataset_id=1&epochs=0x10", "epochs"},
    {"dataset_id=1&batch_size=0", "batch_size"},
    {"dataset_id=1&batch_size=4097", "batch_size"},
    {"dataset_id=1&batch_size=4096", NULL},
    {"dataset_id=1&lr=0", "lr"},
    {"dataset_id=1&lr=-0.1", "lr"},
    {"dataset_id=1&lr=nan", "lr"},
    {"dataset_id=1&lr=inf", "lr"},
    {"dataset_id=1&lr=1e400", "lr"},
    {"dataset_id=1&lr=0x1p-3", "lr"},
    {"dataset_id=1&lr=11", "lr"},
    {"dataset_id=1&lr=1e-4", NULL},
    {"dataset_id=1&image_size=0x0x1", "image_size"},
    {"dataset_id=1&image_size=5000x5000x1", "image_size"},
    {"dataset_id=1&image_size=257x28x1", "image_size"},
    {"dataset_id=1&image_size=28x28x2", "image_size"},
    {"dataset_id=1&image_size=28x28", "image_size"},
    {"dataset_id=1&image_size=28x28x1junk", "image_size"},
    {"dataset_id=1&image_size=-28x28x1", "image_size"},
    {"dataset_id=1&image_size=64x48x3", NULL},
    {"dataset_id=1&arch=mlp", NULL},
    {"dataset_id=1&arch=linear", NULL},
    {"dataset_id=1&arch=CNN", "arch"},
    {"dataset_id=1&arch=resnet&image_size=64x64x3", NULL},
    {"dataset_id=1&arch=lstm&hidden=128", NULL},
    {"dataset_id=1&arch=lstm&hidden=64,32", NULL},
    {"dataset_id=1&arch=lstm&hidden=8,8,8", "hidden"},
    {"dataset_id=1&arch=lstm&hidden=", "hidden"},
    {"dataset_id=1&optimizer=adamw", NULL},
    {"dataset_id=1&arch=", NULL}, /* empty: the default */
    {"dataset_id=1&optimizer=sgd", NULL},
    {"dataset_id=1&optimizer=rmsprop", "optimizer"},
    {"dataset_id=1&hidden=", NULL},
    {"dataset_id=1&hidden=256,128", NULL},
    {"dataset_id=1&hidden=256,,128", NULL},
    {"dataset_id=1&hidden=0", "hidden"},
    {"dataset_id=1&hidden=1,2,3,4,5", "hidden"},
    {"dataset_id=1&hidden=abc", "hidden"},
    {"dataset_id=1&conv=8", NULL},
    {"dataset_id=1&conv=257", "conv"},
    {"dataset_id=1&conv=8,8,8,8,8", "conv"},
    {"dataset_id=1&conv=,", "conv"},
    {"dataset_id=1&image_size=4x4x1&conv=8,8,8", "conv"},
    {"dataset_id=1&image_size=4x4x1&arch=mlp&conv=8,8,8", NULL},
    {"dataset_id=1&val_fraction=0", NULL},
    {"dataset_id=1&val_fraction=0.51", "val_fraction"},
    {"dataset_id=1&val_fraction=-0.1", "val_fraction"},
    {"dataset_id=1&seed=0", NULL},
    {"dataset_id=1&seed=-1", "seed"},
    {"dataset_id=1&workers=1", NULL},
    {"dataset_id=1&workers=2", NULL},
    {"dataset_id=1&workers=64", NULL},
    {"dataset_id=1&workers=65", "workers"},
    {"dataset_id=1&workers=0", "workers"},
    {"dataset_id=1&workers=2&local_steps=100", NULL},
    {"dataset_id=1&local_steps=0", NULL},
    {"dataset_id=1&local_steps=1000001", "local_steps"},
    {"dataset_id=1&local_steps=-1", "local_steps"},
    {"dataset_id=1&local_steps=1.5", "local_steps"},
    {"dataset_id=1&augment=yes", "augment"},
    {"dataset_id=1&augment=on", NULL},
    {"dataset_id=1&fit=letterbox", NULL},
    {"dataset_id=1&fit=crop&image_size=64x48x3", NULL},
    {"dataset_id=1&fit=stretch", NULL},
    {"dataset_id=1&fit=Letterbox", "fit"},
    {"dataset_id=1&fit=pad", "fit"},
    {"dataset_id=1&fit=letter%20box", "fit"},
    {"dataset_id=1&fit=%20letterbox", "fit"},
    {"dataset_id=1&fit=1", "fit"},
};

int
main(void)
{
	struct runform rf, back;
	struct runform_err errs[RUNFORM_ERRS_MAX];
	char name[160];

	for (size_t i = 0; i < TY_ARRAY_LEN(rows); i++) {
		snprintf(name, sizeof(name), "field rule: %s", rows[i].body);
		TH_TEST(name)
		{
			size_t n = parse(rows[i].body, &rf, errs);
			if (!rows[i].bad_field) {
				CHECK(n == 0);
				if (n)
					fprintf(stderr, "  %s: %s\n",
					        errs[0].field, errs[0].msg);
			} else {
				CHECK(n >= 1);
				CHECK(
				    n >= 1 && n < 99 &&
				    !strcmp(errs[0].field, rows[i].bad_field));
				CHECK(n >= 1 && n < 99 &&
				      strlen(errs[0].msg) > 10);
			}
		}
	}

	TH_TEST("all bad fields are reported at once")
	{
		size_t n =
		    parse("dataset_id=1&epochs=0&batch_size=0&lr=0", &rf, errs);
		CHECK(n == 3);
		/* each says which field and what it takes */
		CHECK(n == 3 && !strcmp(errs[0].msg, "Epochs must be a whole "
		                                     "number from 1 to 200."));
		CHECK(n == 3 && !strcmp(errs[1].msg, "Batch size must be a "
		                                     "whole number from 1 to "
		                                     "4096."));
	}

	TH_TEST("defaults: a small CNN on 28x28x1, early stopping on")
	{
		runform_defaults(&rf, NULL);
		CHECK(rf.arch == ARCH_CNN && rf.width == 28 &&
		      rf.height == 28 && rf.channels == 1);
		CHECK(rf.early_stopping == 1 && rf.augment == 0);
		CHECK(rf.epochs >= 1 && rf.batch_size >= 1 && rf.lr > 0);
	}

	TH_TEST("defaults from a report: most common size, colour, epochs")
	{
		runform_defaults(
		    &rf, "{\"images\": 60000, \"sizes\": "
		         "{\"32x32\": 10, \"28x28\": 59990}, \"channels\": "
		         "{\"1\": 60000}}");
		CHECK(rf.width == 28 && rf.height == 28 && rf.channels == 1);
		int big_epochs = rf.epochs;
		runform_defaults(
		    &rf, "{\"images\": 150, \"sizes\": "
		         "{\"640x480\": 150}, \"channels\": {\"3\": 100, "
		         "\"1\": 50}}");
		/* colour: the square input of the colour recipe (issue 14;
		 * before it, 64x48 kept the aspect) */
		CHECK(rf.width == 64 && rf.height == 64 && rf.channels == 3);
		CHECK(rf.epochs > big_epochs && rf.epochs <= 30);
	}

	TH_TEST("defaults survive hostile reports")
	{
		static const char *const bad[] = {"",
		                                  "{",
		                                  "[]",
		                                  "null",
		                                  "{\"sizes\": 3}",
		                                  "{\"sizes\": {\"0x0\": 9}}",
		                                  "{\"sizes\": {\"-5x7\": 9}}",
		                                  "{\"images\": -1}",
		                                  "{\"images\": 1e308}",
		                                  "{\"channels\": [1, 2]}"};
		for (size_t i = 0; i < TY_ARRAY_LEN(bad); i++) {
			runform_defaults(&rf, bad[i]);
			CHECK(rf.width >= 4 && rf.width <= 64);
			CHECK(rf.height >= 4 && rf.height <= 64);
			CHECK(rf.epochs >= 1 && rf.epochs <= 30);
		}
	}

	TH_TEST("checkboxes: absent with boxes=1 means off")
	{
		CHECK(parse("dataset_id=1&boxes=1", &rf, errs) == 0);
		CHECK(rf.augment == 0 && rf.early_stopping == 0);
		CHECK(parse("dataset_id=1&boxes=1&augment=1&early_stopping=1",
		            &rf, errs) == 0);
		CHECK(rf.augment == 1 && rf.early_stopping == 1);
		CHECK(parse("dataset_id=1", &rf, errs) == 0);
		CHECK(rf.early_stopping == 1); /* API clients: defaults */
	}

	TH_TEST("fit: parsed, stored, sent to preprocess only")
	{
		CHECK(parse("dataset_id=1&fit=crop", &rf, errs) == 0);
		CHECK(rf.fit == IMG_FIT_CROP);
		char *j = runform_to_json(&rf);
		CHECK(runform_from_json(j, &back) == 0 &&
		      back.fit == IMG_FIT_CROP);
		free(j);
		char *t = jobs_prep_body(&rf, 4, "uploads/x.zip");
		CHECK(strstr(t, "\"fit\":\"crop\"") != NULL);
		free(t);
		t = jobs_train_body(&rf, 4);
		CHECK(strstr(t, "fit") == NULL);
		free(t);
	}
	TH_TEST("stored params round-trip")
	{
		CHECK(parse("dataset_id=7&arch=mlp&hidden=64,32&epochs=9&"
		            "batch_size=32&optimizer=sgd&lr=0.05&image_size="
		            "20x24x3&"
		            "val_fraction=0.2&seed=5&augment=1&boxes=1",
		            &rf, errs) == 0);
		char *js = runform_to_json(&rf);
		CHECK(runform_from_json(js, &back) == 0);
		CHECK(back.dataset_id == 7 && back.arch == ARCH_MLP);
		CHECK(back.nhidden == 2 && back.hidden[0] == 64 &&
		      back.hidden[1] == 32);
		CHECK(back.epochs == 9 && back.batch_size == 32);
		CHECK(back.optimizer == NN_OPT_SGD && back.lr == 0.05);
		CHECK(back.width == 20 && back.height == 24 &&
		      back.channels == 3);
		CHECK(back.val_fraction == 0.2 && back.seed == 5);
		CHECK(back.augment == 1 && back.early_stopping == 0);
		CHECK(back.workers == 1 && back.local_steps == 0);
		free(js);
		CHECK(parse("dataset_id=7&workers=3&local_steps=250", &rf,
		            errs) == 0);
		js = runform_to_json(&rf);
		CHECK(runform_from_json(js, &back) == 0);
		CHECK(back.workers == 3 && back.local_steps == 250);
		free(js);
		/* params stored before local_steps existed read as 0 */
		CHECK(parse("dataset_id=7&workers=2", &rf, errs) == 0);
		js = runform_to_json(&rf);
		cJSON *old = cJSON_Parse(js);
		cJSON_DeleteItemFromObject(old, "local_steps");
		char *oldjs = cJSON_PrintUnformatted(old);
		back.local_steps = 99;
		CHECK(runform_from_json(oldjs, &back) == 0);
		CHECK(back.workers == 2 && back.local_steps == 0);
		cJSON_Delete(old);
		free(oldjs);
		free(js);
	}

	TH_TEST("stored params: foreign JSON refused")
	{
		static const char *const bad[] = {
		    NULL,
		    "",
		    "{}",
		    "[]",
		    "{\"model\": {\"arch\": \"rnn\"}}",
		    "{\"model\": {\"arch\": \"cnn\"}, \"optimizer\": "
		    "\"adam\", \"dataset_id\": 1, \"epochs\": 0}"};
		for (size_t i = 0; i < TY_ARRAY_LEN(bad); i++)
			CHECK(runform_from_json(bad[i], &back) < 0);
	}

	TH_TEST("job bodies: ids and paths derive from the run id")
	{
		CHECK(parse("dataset_id=7&arch=cnn&conv=8,16&hidden=", &rf,
		            errs) == 0);
		char *p = jobs_prep_body(&rf, 42, "uploads/7/a.zip");
		char *t = jobs_train_body(&rf, 42);
		cJSON *pj = cJSON_Parse(p), *tj = cJSON_Parse(t);
		CHECK_STR(
		    cJSON_GetStringValue(cJSON_GetObjectItem(pj, "job_id")),
		    "run-42-prep");
		CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(pj, "kind")),
		          "prepare");
		CHECK_STR(
		    cJSON_GetStringValue(cJSON_GetObjectItem(pj, "output")),
		    "prepared/42");
		CHECK_STR(
		    cJSON_GetStringValue(cJSON_GetObjectItem(pj, "dataset")),
		    "uploads/7/a.zip");
		CHECK_STR(
		    cJSON_GetStringValue(cJSON_GetObjectItem(tj, "job_id")),
		    "run-42-train");
		CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(tj, "data")),
		          "prepared/42");
		CHECK_STR(
		    cJSON_GetStringValue(cJSON_GetObjectItem(tj, "output")),
		    "runs/42");
		cJSON *m = cJSON_GetObjectItem(tj, "model");
		/* local_steps only when set: the train worker's default */
		CHECK(cJSON_GetObjectItem(tj, "local_steps") == NULL);
		CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(m, "conv")) == 2);
		CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(m, "hidden")) ==
		      0);
		cJSON_Delete(pj);
		cJSON_Delete(tj);
		free(p);
		free(t);
		CHECK(parse("dataset_id=7&workers=2&local_steps=100", &rf,
		            errs) == 0);
		t = jobs_train_body(&rf, 43);
		tj = cJSON_Parse(t);
		CHECK(cJSON_GetNumberValue(
		          cJSON_GetObjectItem(tj, "workers")) == 2);
		CHECK(cJSON_GetNumberValue(
		          cJSON_GetObjectItem(tj, "local_steps")) == 100);
		cJSON_Delete(tj);
		free(t);
	}
	return th_done();
}
