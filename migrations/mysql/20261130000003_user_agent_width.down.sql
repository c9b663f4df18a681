UPDATE sessions SET user_agent = LEFT(user_agent, 280) WHERE CHAR_LENGTH(user_agent) > 280;

--bun:split

ALTER TABLE sessions MODIFY user_agent VARCHAR(280) NOT NULL;
