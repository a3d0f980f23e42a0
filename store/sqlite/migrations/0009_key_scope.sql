-- 0009: a key's optional narrower scope (hashtrail.KeyScope: the actions it
-- may write, a search every read is AND-ed with), as JSON; NULL for none.
ALTER TABLE api_keys ADD COLUMN scope TEXT;
