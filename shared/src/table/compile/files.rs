//! `http-filesystem` routes and the `filesystem` servers they exit to.

use super::{Compiler, binding_pointer};
use crate::spec::{
    BindingKind, BindingType, FilesystemOptionsSpec, OptionsSpec, RouteSpec, SymlinksSpec, WithSpec,
};
use crate::table::files::{FileRoute, FilesBinding};
use crate::template::Allowed;

/// Methods a file route answers; Sluice serves files read-only.
const READ_METHODS: [&str; 2] = ["GET", "HEAD"];

impl Compiler<'_> {
    pub(super) fn compile_files(&mut self) {
        for (name, binding) in &self.spec.bindings {
            match binding.binding_type {
                BindingType::Filesystem => self.check_filesystem(name),
                BindingType::HttpFilesystem => {}
                _ => continue,
            }
            if binding.binding_type != BindingType::HttpFilesystem {
                continue;
            }
            let at = binding_pointer(name);
            let mut routes = Vec::new();
            for (index, route) in binding.routes.iter().enumerate() {
                routes.extend(self.file_route(route, &format!("{at}/routes/{index}")));
            }
            if let Some(exit) = &binding.exit {
                let default = RouteSpec {
                    when: Vec::new(),
                    exit: Some(exit.clone()),
                    with: None,
                    guarded: indexmap::IndexMap::new(),
                };
                routes.extend(self.file_route(&default, &at));
            }
            self.files_index.insert(name, self.files.len());
            self.files.push(FilesBinding {
                binding: name.clone(),
                routes,
            });
        }
    }

    fn check_filesystem(&mut self, name: &str) {
        let Some(binding) = self.spec.bindings.get(name) else {
            return;
        };
        let at = binding_pointer(name);
        if !binding.routes.is_empty() || binding.exit.is_some() {
            self.errors
                .push(at.clone(), "a filesystem binding takes no routes or exit");
        }
        match &binding.options {
            Some(OptionsSpec::Filesystem(options)) if options.location.trim().is_empty() => {
                self.errors.push(
                    format!("{at}/options/location"),
                    "name the directory to serve",
                )
            }
            Some(OptionsSpec::Filesystem(_)) => {}
            _ => self
                .errors
                .push(format!("{at}/options"), "missing field 'location'"),
        }
    }

    fn file_route(&mut self, route: &RouteSpec, at: &str) -> Option<FileRoute> {
        self.route_guards = route.guarded.keys().cloned().collect();
        let guarded = self.guarded(route);
        let when = self.request_conditions(route, at);
        for (position, condition) in when.iter().enumerate() {
            if let Some(method) = &condition.method
                && !READ_METHODS.contains(&method.as_str())
            {
                self.errors.push(
                    format!("{at}/when/{position}/method"),
                    format!("sluice serves files read-only: {method} is not supported, only GET and HEAD"),
                );
            }
        }
        let path = match &route.with {
            Some(WithSpec::HttpFilesystem(with)) => {
                if with.directory.is_some() {
                    self.errors.push(
                        format!("{at}/with/directory"),
                        "directory listings and writes are not supported; name a file with 'path'",
                    );
                }
                let allowed = Allowed {
                    params: true,
                    ..Allowed::default()
                };
                match &with.path {
                    Some(source) => {
                        Some(self.template(source, allowed, &when, &format!("{at}/with/path"))?)
                    }
                    None => None,
                }
            }
            _ => None,
        };
        let exit = route.exit.as_deref()?;
        let exit_at = format!("{at}/exit");
        if !self.expect_exit(
            &exit_at,
            exit,
            BindingType::Filesystem,
            &[BindingKind::Server],
        ) {
            return None;
        }
        let Some(OptionsSpec::Filesystem(FilesystemOptionsSpec { location, symlinks })) = self
            .spec
            .bindings
            .get(exit)
            .and_then(|b| b.options.as_ref())
        else {
            return None;
        };
        Some(FileRoute {
            when,
            guarded,
            path,
            filesystem: exit.to_owned(),
            root: location.clone(),
            follow_symlinks: *symlinks == Some(SymlinksSpec::Follow),
        })
    }
}
