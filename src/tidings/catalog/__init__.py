"""The catalog: users, teams, entities, scorecards, initiatives and the settings that decide
who is notified; imported from Cortex descriptors, Backstage catalog files and tidings YAML."""
