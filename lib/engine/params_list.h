/*
 * params_list.h — the run parameters: ONE ROW EACH. Included by params.h
 * (struct fields) and params.c (the table), with PARAM defined; no guard.
 *
 * To add a parameter: add one row here. The field appears in struct
 * params (and so in struct train_params and struct runform), the train
 * or preprocess worker parses, checks and echoes it, and, with F_FORM,
 * the run form shows, checks, stores and sends it. Then use p->name.
 *
 * PARAM(group, name, type, min, max, def, form_max, flags, label, help)
 *   group    JSON object holding it: TOP (the params), MODEL, IMAGE
 *   type     INT int, NUM double, F32 float (engine-only values), BOOL,
 *            SEED (whole, 0..2^53, uint64_t), ARCH, OPT, SCHED, FIT
 *            (choices from the arch, optimiser, schedule and img_fit_names
 *            tables), WIDTHS (up to
 *            PARAMS_MAX_WIDTHS ints in min..max, count in n<name>; the
 *            arch table says which architectures read it)
 *   def      what a job that leaves it out gets (the run form starts
 *            from its own measured preset, runform.c); -1 below min:
 *            chosen from other rows by the worker (its help says how)
 *   form_max the run form's tighter upper bound, 0: max
 *   flags    F_FORM (on the run form, stored with the run), F_PREP /
 *            F_TRAIN (sent to and read by that worker), F_NONZERO (echoed
 *            only when not 0, so params of older runs stay as they were)
 */
/*    group  name          type    min   max        def          form_max flags
 */
PARAM(MODEL, arch, ARCH, 0, 0, ARCH_MLP, 0, F_FORM | F_TRAIN, "Architecture",
      "linear, mlp (dense layers), cnn (3x3 convolutions with max-pooling, "
      "then dense layers), resnet (residual stages) or lstm (reads rows)")
PARAM(MODEL, hidden, WIDTHS, 1, 8192, 0, 4096, F_FORM | F_TRAIN,
      "Hidden layers",
      "widths of the dense layers before the output, e.g. 128,64 (lstm: 1 or 2 "
      "layers of units)")
PARAM(MODEL, conv, WIDTHS, 1, 1024, 0, 256, F_FORM | F_TRAIN,
      "Convolution layers",
      "channels of each convolution block (cnn), e.g. 16,32; each halves the "
      "image")
PARAM(MODEL, widths, WIDTHS, 1, 512, 0, 0, F_TRAIN, "Stage widths",
      "resnet: channels of each stage, 1 to 4 stages (16,32,64)")
PARAM(MODEL, blocks, WIDTHS, 1, 8, 0, 0, F_TRAIN, "Stage blocks",
      "resnet: basic blocks of each stage (1 each)")
PARAM(MODEL, dropout, F32, 0, 0.95, 0, 0, F_TRAIN, "Dropout",
      "fraction of each hidden layer's outputs dropped while training")
PARAM(TOP, epochs, INT, 1, 1000, 10, 200, F_FORM | F_TRAIN, "Epochs",
      "passes over the training images")
PARAM(TOP, batch_size, INT, 1, 4096, 64, 0, F_FORM | F_TRAIN, "Batch size",
      "images per optimiser step")
PARAM(TOP, optimizer, OPT, 0, 0, NN_OPT_ADAM, 0, F_FORM | F_TRAIN, "Optimiser",
      "sgd (with momentum), adam or adamw (decoupled weight decay)")
PARAM(TOP, lr, NUM, 1e-9, 10, -1, 0, F_FORM | F_TRAIN, "Learning rate",
      "step size; left out: 0.01 for sgd, 0.001 otherwise")
PARAM(TOP, momentum, F32, 0, 0.999, 0.9, 0, F_TRAIN, "Momentum",
      "sgd's momentum")
PARAM(TOP, weight_decay, F32, 0, 1, -1, 0, F_TRAIN, "Weight decay",
      "L2 penalty on the weights; left out: 0.01 for adamw, else 0")
PARAM(TOP, lr_schedule, SCHED, 0, 0, SCHED_CONSTANT, 0,
      F_FORM | F_TRAIN | F_NONZERO, "Schedule",
      "constant or cosine (decay to 0 over the run)")
PARAM(TOP, warmup_epochs, F32, 0, 1000, -1, 0, F_TRAIN, "Warm-up",
      "cosine: epochs of linear warm-up, fewer than epochs; left out: 1 when "
      "epochs >= 5")
PARAM(TOP, label_smoothing, F32, 0, 0.5, 0, 0, F_TRAIN | F_NONZERO,
      "Label smoothing", "share of the target spread over the other classes")
PARAM(TOP, class_weights, BOOL, 0, 1, 0, 0, F_FORM | F_TRAIN | F_NONZERO,
      "Class weights", "weigh the loss by inverse class frequency")
PARAM(IMAGE, width, INT, 1, 1024, 28, 256, F_FORM | F_PREP, "Width",
      "pixels; every image is resized to it")
PARAM(IMAGE, height, INT, 1, 1024, 28, 256, F_FORM | F_PREP, "Height",
      "pixels; every image is resized to it")
PARAM(IMAGE, channels, INT, 1, 3, 1, 0, F_FORM | F_PREP, "Channels",
      "1 (gray) or 3 (colour)")
PARAM(IMAGE, fit, FIT, 0, 0, IMG_FIT_STRETCH, 0, F_FORM | F_PREP | F_NONZERO,
      "Other shapes",
      "how a picture of another shape than the size fits it: stretch, "
      "letterbox (all of it, centred, gray bars) or crop (the centre)")
PARAM(TOP, val_fraction, NUM, 0, 0.9, 0.2, 0.5, F_FORM | F_PREP,
      "Validation fraction",
      "share of the images kept aside to measure accuracy")
PARAM(TOP, seed, SEED, 0, 9007199254740991.0, 42, 0, F_FORM | F_PREP | F_TRAIN,
      "Seed", "the same seed and data give the same split and the same model")
PARAM(TOP, workers, INT, 1, 64, 1, 0, F_FORM | F_TRAIN, "Workers",
      "train replicas; above 1, federated averaging (docs/parallel.md)")
PARAM(TOP, local_steps, INT, 0, 1000000, 0, 0, F_FORM | F_TRAIN | F_NONZERO,
      "Local steps",
      "workers > 1: batches per averaging round, 0: an epoch of each replica's "
      "share")
