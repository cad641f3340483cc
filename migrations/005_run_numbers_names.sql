-- trainyard schema 5: what people see of a run.
-- Run ids count across all projects (a project's second run could be
-- #3), so each run also gets its number within its project, shown on
-- every page; URLs, worker job ids and volume paths keep the global id.
-- projects.runs_made is the highest number ever given, so a deleted
-- run's number is never given again. A run also gets an optional name
-- and a note, editable after the fact.
ALTER TABLE projects ADD COLUMN runs_made INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN number INTEGER;
ALTER TABLE runs ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN note TEXT NOT NULL DEFAULT '';
UPDATE runs SET number = (SELECT count(*) FROM runs r
	WHERE r.project_id = runs.project_id AND r.id <= runs.id);
UPDATE projects SET runs_made = (SELECT coalesce(max(number), 0)
	FROM runs WHERE runs.project_id = projects.id);
CREATE TRIGGER run_number AFTER INSERT ON runs WHEN NEW.number IS NULL
BEGIN
	UPDATE projects SET runs_made = runs_made + 1
		WHERE id = NEW.project_id;
	UPDATE runs SET number = (SELECT runs_made FROM projects
		WHERE id = NEW.project_id) WHERE id = NEW.id;
END;
