-- Per-project capture settings (JSON; missing keys take their defaults).
ALTER TABLE projects ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
