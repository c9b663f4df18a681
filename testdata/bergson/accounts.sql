-- The Bergson Authenticator's accounts table, as ba_db_create_tables
-- (ba_core.py) creates it on MySQL, for the import tests.
CREATE TABLE `accounts` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `enabled` int(11) NOT NULL DEFAULT '0',
  `username` varchar(128) NOT NULL,
  `password_hashed` varchar(256) NOT NULL,
  `salt` varchar(128) NOT NULL,
  `created_at` bigint(20) NOT NULL,
  `updated_at` bigint(20) DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `username` (`username`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8
