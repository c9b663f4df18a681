ALTER TABLE sessions ALTER COLUMN user_agent TYPE VARCHAR(280) USING left(user_agent, 280);
