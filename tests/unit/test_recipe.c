/*
 * test_recipe.c — default recipes from the health report (app/recipe.c):
 * gray data keep the fast CNN, colour data get the square input, the
 * resnet, the colour augmentation and AdamW + cosine, a report warning of
 * imbalance turns class weights on, and the sentence that says so
 * travels with the run's params and into the train job.
 */
#include <stdlib.h>

#include "../th.h"
#include "jobs.h"
#include "recipe.h"
#include "runform.h"
#include "jobs.h"

static const struct {
	const char *report;
	int side, channels, arch, augment;
	const char *want; /* the recipe sentence */
} rows[] = {
    {"{\"images\": 60000, \"sizes\": {\"28x28\": 60000}, \"channels\": "
     "{\"1\": 60000}, \"classes\": [{},{},{},{},{},{},{},{},{},{}]}",
     28, 1, ARCH_CNN, 0,
     "gray, 60,000 images, 10 classes → the fast cnn at 28×28"},
    {"{\"images\": 1264, \"sizes\": {\"640x480\": 1000, \"64x64\": 264}, "
     "\"channels\": {\"3\": 1200, \"4\": 64}, \"classes\": [{},{},{},{}]}",
     64, 3, ARCH_RESNET, 1,
     "colour, 1,264 images, 4 classes → resnet 16-32-64 at 64×64, "
     "augmentation on (crop, flip, rotation, colour jitter), AdamW + "
     "cosine, letterbox (aspect kept, gray bars)"},
    /* large and many: 96 px */
    {"{\"images\": 8000, \"sizes\": {\"1024x768\": 8000}, \"channels\": "
     "{\"3\": 8000}, \"classes\": [{},{}]}",
     96, 3, ARCH_RESNET, 1,
     "colour, 8,000 images, 2 classes → resnet 16-32-64 at 96×96, "
     "augmentation on (crop, flip, rotation, colour jitter), AdamW + "
     "cosine, letterbox (aspect kept, gray bars)"},
    /* large but few: 64 */
    {"{\"images\": 900, \"sizes\": {\"1024x768\": 900}, \"channels\": "
     "{\"3\": 900}, \"classes\": [{},{},{}]}",
     64, 3, ARCH_RESNET, 1, NULL},
};

int
main(void)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char name[64];
		snprintf(name, sizeof(name), "recipe row %zu", i);
		TH_TEST(name)
		{
			struct runform rf;
			runform_defaults(&rf, rows[i].report);
			CHECK(rf.width == rows[i].side &&
			      rf.height == rows[i].side);
			CHECK(rf.channels == rows[i].channels);
			CHECK((int)rf.arch == rows[i].arch);
			CHECK(rf.augment == rows[i].augment);
			CHECK(rf.early_stopping == 1);
			if (rows[i].want)
				CHECK_STR(rf.recipe, rows[i].want);
		}
	}
	TH_TEST("gray keeps the fast CNN of the run form")
	{
		struct runform rf;
		runform_defaults(&rf, rows[0].report);
		CHECK(rf.nconv == 2 && rf.conv[0] == 16 && rf.conv[1] == 32);
		CHECK(rf.nhidden == 1 && rf.hidden[0] == 64);
		/* time to model (issue 18): 2 epochs of Adam + cosine */
		CHECK(rf.optimizer == NN_OPT_ADAM && rf.lr == 0.003 &&
		      rf.lr_schedule == SCHED_COSINE);
	}
	TH_TEST("colour: resnet, AdamW, cosine in the job")
	{
		struct runform rf;
		runform_defaults(&rf, rows[1].report);
		CHECK(rf.optimizer == NN_OPT_ADAMW &&
		      rf.lr_schedule == SCHED_COSINE && rf.lr == 0.003);
		CHECK(rf.class_weights == 0);
		char *t = jobs_train_body(&rf, 9);
		CHECK(strstr(t, "\"arch\":\"resnet\"") != NULL);
		CHECK(strstr(t, "\"optimizer\":\"adamw\"") != NULL);
		CHECK(strstr(t, "\"lr_schedule\":\"cosine\"") != NULL);
		CHECK(strstr(t, "class_weights") == NULL);
		free(t);
	}
	TH_TEST(
	    "colour: letterboxed in the prep job; gray: stretched, as before")
	{
		struct runform rf;
		runform_defaults(&rf, rows[1].report);
		CHECK(rf.fit == IMG_FIT_LETTERBOX);
		char *t = jobs_prep_body(&rf, 9, "uploads/x.zip");
		CHECK(strstr(t, "\"fit\":\"letterbox\"") != NULL);
		free(t);
		runform_defaults(&rf, rows[0].report);
		CHECK(rf.fit == IMG_FIT_STRETCH);
		t = jobs_prep_body(&rf, 9, "uploads/x.zip");
		/* a gray job's body is byte for byte what it was */
		CHECK(strstr(t, "fit") == NULL);
		free(t);
	}
	TH_TEST("imbalance warned: class weights on, and said")
	{
		struct runform rf, back;
		runform_defaults(
		    &rf, "{\"images\": 500, \"sizes\": {\"28x28\": 500}, "
		         "\"channels\": {\"1\": 500}, \"classes\": [{},{}], "
		         "\"warnings\": [\"class imbalance: the largest class "
		         "has 480 images, the smallest 20\"]}");
		CHECK(rf.class_weights == 1 && rf.arch == ARCH_CNN);
		CHECK(strstr(rf.recipe, "class weights (imbalance)") != NULL);
		char *t = jobs_train_body(&rf, 10);
		CHECK(strstr(t, "\"class_weights\":true") != NULL);
		free(t);
		rf.dataset_id = 1;
		char *js = runform_to_json(&rf);
		CHECK(runform_from_json(js, &back) == 0 &&
		      back.class_weights == 1);
		free(js);
	}
	TH_TEST("no report: no recipe sentence")
	{
		struct runform rf;
		runform_defaults(&rf, NULL);
		CHECK(rf.recipe[0] == '\0');
	}
	TH_TEST("the recipe travels with the params, colour augment in the job")
	{
		struct runform rf, back;
		runform_defaults(&rf, rows[1].report);
		rf.dataset_id = 3;
		char *js = runform_to_json(&rf);
		CHECK(runform_from_json(js, &back) == 0);
		CHECK_STR(back.recipe, rows[1].want);
		free(js);
		char *t = jobs_train_body(&rf, 7);
		CHECK(strstr(t, "\"augment\":\"colour\"") != NULL);
		free(t);
		/* gray with augmentation: the shifts, as before */
		runform_defaults(&rf, rows[0].report);
		rf.augment = 1;
		t = jobs_train_body(&rf, 8);
		CHECK(strstr(t, "\"augment\":true") != NULL);
		free(t);
	}
	TH_TEST("a form that changes the recipe says so")
	{
		struct runform rf, want;
		runform_defaults(&rf, rows[1].report);
		want = rf;
		recipe_note_changes(&rf, &want);
		CHECK(strstr(rf.recipe, "changed") == NULL);
		rf.width = rf.height = 32;
		recipe_note_changes(&rf, &want);
		CHECK(strstr(rf.recipe, "; then changed in the form") != NULL);
		runform_defaults(&rf, rows[1].report);
		rf.lr_schedule = SCHED_CONSTANT;
		recipe_note_changes(&rf, &want);
		CHECK(strstr(rf.recipe, "; then changed in the form") != NULL);
	}
	return th_done();
}
