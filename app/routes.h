/*
 * routes.h — every route of the web app, one row each:
 *	ROUTE(NAME, "METHOD", "/path/{id}/more", flags, handler)
 * The X-macro makes enum route (ROUTE_NAME) and the dispatch table in
 * route.c. {name} matches a positive decimal id (collected in order into
 * req->ids); a final * matches the rest of the path. The first matching
 * row wins. Flags (route.h) say what runs before the handler: R_AUTH
 * (signed-in user or redirect/401), R_FORM (urlencoded body parsed into
 * req->form), R_CSRF (req->form's "csrf" checked, 403 when wrong),
 * R_PROJECT (ids[0] must be a project of this user, else 404; loaded into
 * req->project), R_BARE (no session lookup, no cookies), R_TOKEN (the
 * JSON API: a bearer token, never a cookie; api.h). A multipart
 * route gets its body unread and must check the csrf field itself (see
 * page_dataset.c).
 */
ROUTE(ROOT, "GET", "/", 0, page_root)
ROUTE(HEALTHZ, "GET", "/healthz", R_BARE, page_healthz)
ROUTE(READYZ, "GET", "/readyz", R_BARE, page_readyz)
ROUTE(METRICS, "GET", "/metrics", R_BARE, page_metrics)
ROUTE(STATIC, "GET", "/static/*", R_BARE, page_static)
ROUTE(SIGNUP_FORM, "GET", "/signup", 0, page_signup_form)
ROUTE(SIGNUP, "POST", "/signup", R_FORM | R_CSRF, page_signup)
ROUTE(LOGIN_FORM, "GET", "/login", 0, page_login_form)
ROUTE(LOGIN, "POST", "/login", R_FORM | R_CSRF, page_login)
ROUTE(LOGOUT, "POST", "/logout", R_FORM | R_CSRF, page_logout)
ROUTE(PROJECTS, "GET", "/projects", R_AUTH, page_projects)
ROUTE(PROJECT_CREATE, "POST", "/projects", R_AUTH | R_FORM | R_CSRF,
      page_project_create)
ROUTE(PROJECT, "GET", "/projects/{id}", R_AUTH | R_PROJECT, page_project)
/* destructive actions ask first: GET the POST's path (page_confirm.c) */
ROUTE(PROJECT_DELETE_ASK, "GET", "/projects/{id}/delete", R_AUTH | R_PROJECT,
      page_confirm)
ROUTE(RUN_DELETE_ASK, "GET", "/projects/{id}/runs/{rid}/delete",
      R_AUTH | R_PROJECT, page_confirm)
ROUTE(RUN_CANCEL_ASK, "GET", "/projects/{id}/runs/{rid}/cancel",
      R_AUTH | R_PROJECT, page_confirm)
ROUTE(DATASET_DELETE_ASK, "GET", "/projects/{id}/datasets/{did}/delete",
      R_AUTH | R_PROJECT, page_confirm)
ROUTE(TOKEN_REVOKE_ASK, "GET", "/account/tokens/{tid}/revoke", R_AUTH,
      page_confirm)
ROUTE(PROJECT_DELETE, "POST", "/projects/{id}/delete",
      R_AUTH | R_FORM | R_CSRF | R_PROJECT, page_project_delete)
ROUTE(DATASET_UPLOAD, "POST", "/projects/{id}/datasets", R_AUTH | R_PROJECT,
      page_dataset_upload)
/* dataset health, predict, account tokens, JSON API (webdata) */
ROUTE(DATASET, "GET", "/projects/{id}/datasets/{did}", R_AUTH | R_PROJECT,
      page_dataset_health)
ROUTE(DATASET_REINSPECT, "POST", "/projects/{id}/datasets/{did}/inspect",
      R_AUTH | R_FORM | R_CSRF | R_PROJECT, page_dataset_reinspect)
ROUTE(DATASET_SAMPLES, "GET", "/projects/{id}/datasets/{did}/samples",
      R_AUTH | R_PROJECT, page_dataset_samples)
ROUTE(DATASET_STATUS, "GET", "/projects/{id}/datasets/{did}/status",
      R_AUTH | R_PROJECT, page_dataset_status)
ROUTE(DATASET_DELETE, "POST", "/projects/{id}/datasets/{did}/delete",
      R_AUTH | R_FORM | R_CSRF | R_PROJECT, page_dataset_delete)
ROUTE(DATASET_RENAME, "POST", "/projects/{id}/datasets/{did}/rename",
      R_AUTH | R_FORM | R_CSRF | R_PROJECT, page_dataset_rename)
ROUTE(PREDICT_FORM, "GET", "/projects/{id}/predict", R_AUTH | R_PROJECT,
      page_predict_form)
ROUTE(PREDICT, "POST", "/projects/{id}/predict", R_AUTH | R_PROJECT,
      page_predict)
ROUTE(ACCOUNT, "GET", "/account", R_AUTH, page_account)
ROUTE(TOKEN_CREATE, "POST", "/account/tokens", R_AUTH | R_FORM | R_CSRF,
      page_token_create)
ROUTE(TOKEN_REVOKE, "POST", "/account/tokens/{tid}/revoke",
      R_AUTH | R_FORM | R_CSRF, page_token_revoke)
/* runs: the pipeline (page_runs.c, page_run.c, page_run_events.c) */
ROUTE(COMPARE, "GET", "/projects/{id}/compare", R_AUTH | R_PROJECT,
      page_compare)
ROUTE(SWEEP, "GET", "/projects/{id}/sweeps/{sid}", R_AUTH | R_PROJECT,
      page_sweep)
ROUTE(RUN_DESCRIBE, "POST", "/projects/{id}/runs/{rid}/describe",
      R_AUTH | R_FORM | R_CSRF | R_PROJECT, page_run_describe)
ROUTE(RUN_NEW, "GET", "/projects/{id}/runs/new", R_AUTH | R_PROJECT,
      page_run_new)
ROUTE(RUN_CREATE, "POST", "/projects/{id}/runs",
      R_AUTH | R_FORM | R_CSRF | R_PROJECT, page_run_create)
ROUTE(RUN, "GET", "/projects/{id}/runs/{rid}", R_AUTH | R_PROJECT, page_run)
ROUTE(RUN_CHARTS, "GET", "/projects/{id}/runs/{rid}/charts", R_AUTH | R_PROJECT,
      page_run_charts)
ROUTE(RUN_EVENTS, "GET", "/projects/{id}/runs/{rid}/events", R_AUTH | R_PROJECT,
      page_run_events)
ROUTE(RUN_CANCEL, "POST", "/projects/{id}/runs/{rid}/cancel",
      R_AUTH | R_FORM | R_CSRF | R_PROJECT, page_run_cancel)
ROUTE(RUN_DELETE, "POST", "/projects/{id}/runs/{rid}/delete",
      R_AUTH | R_FORM | R_CSRF | R_PROJECT, page_run_delete)
ROUTE(RUN_MODEL, "GET", "/projects/{id}/runs/{rid}/model", R_AUTH | R_PROJECT,
      page_run_model)
/* the images behind the confusion matrix (page_mistakes.c) */
ROUTE(RUN_MISTAKES, "GET", "/projects/{id}/runs/{rid}/mistakes",
      R_AUTH | R_PROJECT, page_run_mistakes)
ROUTE(RUN_MISTAKE, "GET", "/projects/{id}/runs/{rid}/mistakes/{n}",
      R_AUTH | R_PROJECT, page_run_mistake)
ROUTE(RUN_IMAGE, "GET", "/projects/{id}/runs/{rid}/images/{n}",
      R_AUTH | R_PROJECT, page_run_image)
ROUTE(RUN_ORIGINAL, "GET", "/projects/{id}/runs/{rid}/images/{n}/original",
      R_AUTH | R_PROJECT, page_run_original)
/* the run's model as ONNX / one C file (page_export.c, lib/export) */
ROUTE(RUN_MODEL_ONNX, "GET", "/projects/{id}/runs/{rid}/model.onnx",
      R_AUTH | R_PROJECT, page_run_model_onnx)
ROUTE(RUN_MODEL_C, "GET", "/projects/{id}/runs/{rid}/model.c",
      R_AUTH | R_PROJECT, page_run_model_c)
/* the JSON API (api.h; described by static/openapi.json, tested both
 * ways by tests/http/test_api_product.py) */
ROUTE(API_OPENAPI, "GET", "/api/v1/openapi.json", R_BARE, api_openapi)
ROUTE(API_PROJECTS, "GET", "/api/v1/projects", R_TOKEN, api_projects)
ROUTE(API_PROJECT_CREATE, "POST", "/api/v1/projects", R_TOKEN,
      api_project_create)
ROUTE(API_PROJECT, "GET", "/api/v1/projects/{id}", R_TOKEN | R_PROJECT,
      api_project)
ROUTE(API_DATASET_UPLOAD, "POST", "/api/v1/projects/{id}/datasets",
      R_TOKEN | R_PROJECT, api_dataset_upload)
ROUTE(API_DATASETS, "GET", "/api/v1/projects/{id}/datasets",
      R_TOKEN | R_PROJECT, api_datasets)
ROUTE(API_DATASET, "GET", "/api/v1/projects/{id}/datasets/{did}",
      R_TOKEN | R_PROJECT, api_dataset)
ROUTE(API_RUN_CREATE, "POST", "/api/v1/projects/{id}/runs", R_TOKEN | R_PROJECT,
      api_run_create)
ROUTE(API_RUNS, "GET", "/api/v1/projects/{id}/runs", R_TOKEN | R_PROJECT,
      api_runs)
ROUTE(API_SWEEP_CREATE, "POST", "/api/v1/projects/{id}/sweeps",
      R_TOKEN | R_PROJECT, api_sweep_create)
ROUTE(API_SWEEP, "GET", "/api/v1/projects/{id}/sweeps/{sid}",
      R_TOKEN | R_PROJECT, api_sweep)
ROUTE(API_RUN, "GET", "/api/v1/projects/{id}/runs/{rid}", R_TOKEN | R_PROJECT,
      api_run)
ROUTE(API_RUN_CANCEL, "POST", "/api/v1/projects/{id}/runs/{rid}/cancel",
      R_TOKEN | R_PROJECT, api_run_cancel)
ROUTE(API_RUN_EVENTS, "GET", "/api/v1/projects/{id}/runs/{rid}/events",
      R_TOKEN | R_PROJECT, page_run_events)
ROUTE(API_MODELS, "GET", "/api/v1/projects/{id}/models", R_TOKEN | R_PROJECT,
      api_models)
ROUTE(API_MODEL_DOWNLOAD, "GET", "/api/v1/projects/{id}/models/{mid}/download",
      R_TOKEN | R_PROJECT, api_model_download)
ROUTE(API_PREDICT, "POST", "/api/v1/projects/{id}/predict", R_TOKEN | R_PROJECT,
      page_api_predict)
