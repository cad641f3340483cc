/* metrics.c — confusion matrix to precision / recall / F1. */
#include "train.h"

cJSON *
train_metrics_json(const uint32_t *cm, int k, char **names)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *conf = cJSON_AddArrayToObject(o, "confusion");
	cJSON *pc = cJSON_AddArrayToObject(o, "per_class");
	uint64_t total = 0, right = 0;
	for (int t = 0; t < k; t++) {
		cJSON *row = cJSON_CreateArray();
		for (int p = 0; p < k; p++) {
			uint32_t v = cm[(size_t)t * k + p];
			cJSON_AddItemToArray(row, cJSON_CreateNumber(v));
			total += v;
			right += t == p ? v : 0;
		}
		cJSON_AddItemToArray(conf, row);
	}
	for (int c = 0; c < k; c++) {
		uint64_t tp = cm[(size_t)c * k + c], predicted = 0, actual = 0;
		for (int j = 0; j < k; j++) {
			predicted += cm[(size_t)j * k + c];
			actual += cm[(size_t)c * k + j];
		}
		/* 0 rather than NaN when a class is never predicted/present */
		double prec = predicted ? (double)tp / predicted : 0.0;
		double rec = actual ? (double)tp / actual : 0.0;
		double f1 =
		    prec + rec > 0 ? 2 * prec * rec / (prec + rec) : 0.0;
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "class", names ? names[c] : "");
		cJSON_AddNumberToObject(e, "precision", prec);
		cJSON_AddNumberToObject(e, "recall", rec);
		cJSON_AddNumberToObject(e, "f1", f1);
		cJSON_AddNumberToObject(e, "support", (double)actual);
		cJSON_AddItemToArray(pc, e);
	}
	cJSON_AddNumberToObject(o, "accuracy",
	                        total ? (double)right / total : 0.0);
	return o;
}
