copier copy --defaults gh:org/start-django my-project
