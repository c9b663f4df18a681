# The reference's default permissions model, as a test fixture shared by the
# tests of the generic policies.
package authnzrv.testdata

default_model := {
	"roles": [
		"superuser",
		"staff",
		"authenticated",
		"anonymous",
		"locked",
	],
	"items": [
		"object",
		"dataset",
		"collection",
		"user",
		"session",
		"apikey",
		"preference",
	],
	"actions": [
		"list",
		"view",
		"create",
		"delete",
		"edit",
		"change_visibility",
		"change_owner",
	],
	"visibilities": [
		"public",
		"unlisted",
		"private",
		"shared",
	],
	"limits": {
		"max": {
			"type": "int",
			"operator": "lt",
		},
		"min": {
			"type": "int",
			"operator": "gt",
		},
	},
	"item_policy": {
		"object": {
			"valid_role_actions": [
				"list",
				"view",
				"create",
				"edit",
				"delete",
				"change_visibility",
				"change_owner",
			],
			"valid_visibilities": [
				"public",
				"unlisted",
				"shared",
				"private",
			],
			"invalid_roles": [
				"locked",
			],
		},
		"dataset": {
			"valid_role_actions": [
				"list",
				"view",
				"create",
				"edit",
				"delete",
				"change_visibility",
				"change_owner",
			],
			"valid_visibilities": [
				"public",
				"unlisted",
				"shared",
				"private",
			],
			"invalid_roles": [
				"locked",
			],
		},
		"collection": {
			"valid_role_actions": [
				"list",
				"view",
				"create",
				"edit",
				"delete",
				"change_visibility",
				"change_owner",
			],
			"valid_visibilities": [
				"public",
				"unlisted",
				"shared",
				"private",
			],
			"invalid_roles": [
				"locked",
			],
		},
		"user": {
			"valid_role_actions": [
				"list",
				"view",
				"create",
				"edit",
				"delete",
			],
			"valid_visibilities": [
				"private",
			],
			"invalid_roles": [
				"authenticated",
				"anonymous",
				"locked",
			],
		},
		"session": {
			"valid_role_actions": [
				"list",
				"view",
				"delete",
			],
			"valid_visibilities": [
				"private",
			],
			"invalid_roles": [
				"authenticated",
				"anonymous",
				"locked",
			],
		},
		"apikey": {
			"valid_role_actions": [
				"list",
				"view",
				"create",
				"delete",
			],
			"valid_visibilities": [
				"private",
			],
			"invalid_roles": [
				"anonymous",
				"locked",
			],
		},
		"preference": {
			"valid_role_actions": [
				"list",
				"view",
				"edit",
			],
			"valid_visibilities": [
				"private",
			],
			"invalid_roles": [
				"anonymous",
				"locked",
			],
		},
	},
	"role_policy": {
		"superuser": {
			"limits": {
				"max_requests": {
					"type": "max",
					"limit": 5000000,
				},
				"max_requests_per_minute": {
					"type": "max",
					"limit": 60000,
				},
			},
			"can_own_items": [
				"dataset",
				"object",
				"collection",
				"apikey",
				"preference",
			],
			"allowed_actions_for_owned": [
				"list",
				"view",
				"create",
				"delete",
				"edit",
				"change_owner",
				"change_visibility",
			],
			"allowed_actions_for_other": {
				"public": [
					"list",
					"view",
					"create",
					"delete",
					"edit",
					"change_owner",
					"change_visibility",
				],
				"unlisted": [
					"list",
					"view",
					"create",
					"delete",
					"edit",
					"change_owner",
					"change_visibility",
				],
				"shared": [
					"list",
					"view",
					"create",
					"delete",
					"edit",
					"change_owner",
					"change_visibility",
				],
				"private": [
					"list",
					"view",
					"create",
					"delete",
					"edit",
					"change_owner",
					"change_visibility",
				],
			},
		},
		"staff": {
			"limits": {
				"max_requests": {
					"type": "max",
					"limit": 1000000,
				},
				"max_requests_per_minute": {
					"type": "max",
					"limit": 60000,
				},
			},
			"can_own_items": [
				"dataset",
				"object",
				"collection",
				"apikey",
				"preference",
			],
			"allowed_actions_for_owned": [
				"list",
				"view",
				"create",
				"delete",
				"edit",
				"change_visibility",
				"change_owner",
			],
			"allowed_actions_for_other": {
				"public": [
					"list",
					"view",
					"delete",
					"edit",
					"change_visibility",
					"change_owner",
				],
				"unlisted": [
					"list",
					"view",
					"delete",
					"edit",
					"change_visibility",
					"change_owner",
				],
				"shared": [
					"list",
					"view",
					"edit",
				],
				"private": [
					"list",
				],
			},
		},
		"authenticated": {
			"limits": {
				"max_requests": {
					"type": "max",
					"limit": 500000,
				},
				"max_requests_per_minute": {
					"type": "max",
					"limit": 6000,
				},
			},
			"can_own_items": [
				"dataset",
				"apikey",
				"preference",
			],
			"allowed_actions_for_owned": [
				"list",
				"view",
				"create",
				"delete",
				"edit",
				"change_visibility",
			],
			"allowed_actions_for_other": {
				"public": [
					"list",
					"view",
				],
				"unlisted": [
					"view",
				],
				"shared": [
					"list",
					"view",
					"edit",
				],
				"private": [],
			},
		},
		"anonymous": {
			"limits": {
				"max_requests": {
					"type": "max",
					"limit": 100000,
				},
				"max_requests_per_minute": {
					"type": "max",
					"limit": 600,
				},
			},
			"can_own_items": [
				"dataset",
			],
			"allowed_actions_for_owned": [
				"list",
				"view",
				"create",
			],
			"allowed_actions_for_other": {
				"public": [
					"list",
					"view",
				],
				"unlisted": [
					"view",
				],
				"shared": [],
				"private": [],
			},
		},
		"locked": {
			"limits": {
				"max_requests": {
					"type": "max",
					"limit": 0,
				},
				"max_requests_per_minute": {
					"type": "max",
					"limit": 0,
				},
			},
			"can_own_items": [],
			"allowed_actions_for_owned": [],
			"allowed_actions_for_other": {
				"public": [],
				"unlisted": [],
				"shared": [],
				"private": [],
			},
		},
	},
}
