// Execute a declarative Jenkinsfile with mocked steps, the way JenkinsPipelineUnit does (its
// declarative support is not on Maven Central, so this is the small part of it we need).
// Usage: groovy jenkinsfile_run.groovy JENKINSFILE SCENARIO... where a SCENARIO is
// `NAME=VALUE,...` (build parameters; those not given take the Jenkinsfile's defaults) and may
// hold `fail=STAGE`, which makes the sh step running `python -m pipelines STAGE` fail like a
// non-zero exit. One JVM runs every scenario. Prints `scenario<TAB><TAB>SCENARIO`, then one
// event per line:
//   sh<TAB>stage<TAB>script | input<TAB>stage<TAB>message | skipped<TAB>stage<TAB>reason |
//   post<TAB><TAB>condition | STEP<TAB>stage<TAB> (junit, archiveArtifacts, withCredentials) |
//   option<TAB><TAB>OPTION | parameter<TAB><TAB>NAME | agent<TAB><TAB>POD_YAML
//   result<TAB><TAB>SUCCESS|FAILURE

abstract class DeclarativeRun extends Script {
    Map<String, Object> given = [:]
    String failing
    List<Map> collector
    Map<String, Object> definition
    Map<String, Closure> postConditions = [:]
    List<Map> topStages = []
    String current = ''
    boolean failed = false
    boolean condition = true

    // Script.setProperty writes to the binding, so scenario settings come in through a method.
    void configure(String name, String value) {
        if (name == 'fail') { failing = value } else { given[name] = value }
    }

    void emit(String kind, String detail) { println([kind, current, detail].join('\t')) }

    // --- pipeline structure ---------------------------------------------------------------
    def pipeline(Closure body) {
        binding.setVariable('params', [:] + given)
        binding.setVariable('env', [WORKSPACE: '/workspace'])
        binding.setVariable('currentBuild', [description: null])
        collector = topStages
        body.call()
        for (Map stage : topStages) {
            runStage(stage)
        }
        String result = failed ? 'FAILURE' : 'SUCCESS'
        ['always', failed ? 'failure' : 'success'].each { name ->
            if (postConditions[name]) {
                current = ''
                emit('post', name)
                postConditions[name].call()
            }
        }
        current = ''
        emit('result', result)
    }

    void runStage(Map stage) {
        String outer = current
        current = outer ? "${outer}/${stage.name}" : stage.name
        definition = [when: null, steps: null, parallel: null]
        stage.body.call()
        Map defined = definition
        if (failed) {
            emit('skipped', 'earlier failure')
        } else if (defined.when != null && !evaluate(defined.when)) {
            emit('skipped', 'when')
        } else if (defined.parallel != null) {
            defined.parallel.each { runStage(it) }
        } else {
            try {
                defined.steps.call()
            } catch (StepFailure failure) {
                failed = true
                emit('failed', failure.message)
            }
        }
        current = outer
    }

    boolean evaluate(Closure when) {
        condition = true
        when.call()
        return condition
    }

    def agent(Closure body) { body.call() }
    def kubernetes(Closure body) { body.call() }
    def yamlFile(String path) { emit('agent', path) }
    def defaultContainer(String name) { }
    def options(Closure body) { body.call() }
    def timestamps() { emit('option', 'timestamps') }
    def buildDiscarder(Object strategy) { emit('option', "buildDiscarder ${strategy}") }
    def logRotator(Map settings) { settings }
    def disableConcurrentBuilds(Map settings = [:]) { emit('option', 'disableConcurrentBuilds') }
    def parameters(Closure body) { body.call() }
    def choice(Map settings) { declare(settings.name, settings.choices[0]) }
    def booleanParam(Map settings) { declare(settings.name, settings.defaultValue) }
    def usernamePassword(Map settings) { settings }
    def string(Map settings) {
        if (settings.containsKey('credentialsId')) { return settings }
        declare(settings.name, settings.defaultValue)
    }
    void declare(String name, Object fallback) {
        emit('parameter', name)
        Map params = binding.getVariable('params') as Map
        if (!params.containsKey(name)) { params[name] = fallback }
        else if (fallback instanceof Boolean) { params[name] = params[name].toString().toBoolean() }
    }
    def environment(Closure body) { body.call() }
    def stages(Closure body) { body.call() }
    def stage(String name, Closure body) { collector << [name: name, body: body] }
    def when(Closure body) { definition.when = body }
    def expression(Closure body) { condition = condition && body.call() }
    def steps(Closure body) { definition.steps = body }
    def parallel(Closure body) {
        List<Map> saved = collector
        collector = []
        Map own = definition
        body.call()
        own.parallel = collector
        collector = saved
    }
    def post(Closure body) { body.call() }
    def always(Closure body) { postConditions.always = body }
    def failure(Closure body) { postConditions.failure = body }
    def success(Closure body) { postConditions.success = body }

    // --- steps -----------------------------------------------------------------------------
    def sh(Object script) {
        String text = (script instanceof Map ? script.script : script).toString()
        text = text.replaceAll(/\s+/, ' ').trim()
        emit('sh', text)
        if (failing && text ==~ /.*python -m pipelines ${failing}( .*)?/) {
            throw new StepFailure("script returned exit code 1: ${text}")
        }
    }
    def input(Map settings) { emit('input', settings.message.toString()) }
    def timeout(Map settings, Closure body = null) {
        if (body == null) { emit('option', "timeout ${settings.time} ${settings.unit}") } else { body.call() }
    }
    def script(Closure body) { body.call() }
    def withEnv(List settings, Closure body) { body.call() }
    def withCredentials(List bindings, Closure body) {
        emit('withCredentials', bindings.collect { it.credentialsId }.join(','))
        body.call()
    }
    def archiveArtifacts(Map settings) { emit('archiveArtifacts', settings.artifacts.toString()) }
    def junit(Map settings) { emit('junit', settings.testResults.toString()) }
    def echo(String message) { emit('echo', message) }
}

class StepFailure extends RuntimeException {
    StepFailure(String message) { super(message) }
}

def config = new org.codehaus.groovy.control.CompilerConfiguration()
config.scriptBaseClass = DeclarativeRun.name
def shell = new GroovyShell(this.class.classLoader, new Binding(), config)
args.drop(1).each { scenario ->
    println(['scenario', '', scenario].join('\t'))
    DeclarativeRun run = shell.parse(new File(args[0])) as DeclarativeRun
    scenario.split(',').findAll { it }.each { setting ->
        def (name, value) = setting.split('=', 2)
        run.configure(name, value)
    }
    run.run()
}
