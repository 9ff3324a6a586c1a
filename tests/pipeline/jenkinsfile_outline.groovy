// Parse Jenkinsfiles with Groovy's own compiler (up to the CONVERSION phase: a syntax error
// fails here exactly as it would in Jenkins) and print each one's outline: `file<TAB><TAB>PATH`,
// then `error<TAB><TAB>MESSAGE` for a file that does not parse, or one event per line:
//   stage<TAB>path           a stage('...') opens (path joins nested stage names with '/')
//   sh<TAB>path<TAB>text     an sh step, with its script text (GString parts as written)
//   STEP<TAB>path<TAB>       an input, junit, archiveArtifacts or withCredentials step
// Calls inside helper methods (def ...) are attributed to the stage that calls the helper.
import org.codehaus.groovy.ast.ClassCodeVisitorSupport
import org.codehaus.groovy.ast.MethodNode
import org.codehaus.groovy.ast.expr.ArgumentListExpression
import org.codehaus.groovy.ast.expr.ConstantExpression
import org.codehaus.groovy.ast.expr.Expression
import org.codehaus.groovy.ast.expr.GStringExpression
import org.codehaus.groovy.ast.expr.MapExpression
import org.codehaus.groovy.ast.expr.MethodCallExpression
import org.codehaus.groovy.control.CompilationUnit
import org.codehaus.groovy.control.Phases
import org.codehaus.groovy.control.SourceUnit

class Outline extends ClassCodeVisitorSupport {
    SourceUnit sourceUnit
    Map<String, MethodNode> helpers = [:]
    List<String> stages = []
    Set<String> expanding = [] as Set

    protected SourceUnit getSourceUnit() { sourceUnit }

    static String text(Expression expression) {
        if (expression instanceof ConstantExpression) { return expression.value as String }
        if (expression instanceof GStringExpression) { return expression.text }
        return expression.text
    }

    static List<Expression> arguments(MethodCallExpression call) {
        def args = call.arguments
        return args instanceof ArgumentListExpression ? args.expressions : [args]
    }

    void emit(String kind, String detail) {
        println([kind, stages.join('/'), detail].join('\t'))
    }

    @Override
    void visitMethodCallExpression(MethodCallExpression call) {
        String name = call.methodAsString
        List<Expression> args = arguments(call)
        if (name == 'stage' && args && args[0] instanceof ConstantExpression) {
            stages.push(text(args[0]))
            println(['stage', stages.join('/')].join('\t'))
            super.visitMethodCallExpression(call)
            stages.pop()
            return
        }
        if (name == 'sh' && args) {
            Expression script = args[0]
            if (script instanceof MapExpression) {
                script = script.mapEntryExpressions.find { text(it.keyExpression) == 'script' }?.valueExpression
            }
            emit('sh', text(script).replaceAll(/\s+/, ' ').trim())
        }
        if (name in ['input', 'junit', 'archiveArtifacts', 'withCredentials']) { emit(name, '') }
        MethodNode helper = helpers[name]
        if (helper != null && stages && !expanding.contains(name)) {
            expanding.add(name)
            helper.code.visit(this)
            expanding.remove(name)
        }
        super.visitMethodCallExpression(call)
    }
}

args.each { path ->
    println(['file', '', path].join('\t'))
    def unit = new CompilationUnit()
    SourceUnit source = unit.addSource(new File(path))
    try {
        unit.compile(Phases.CONVERSION)
    } catch (org.codehaus.groovy.control.CompilationFailedException error) {
        println(['error', '', error.message.replaceAll(/\s+/, ' ')].join('\t'))
        return
    }
    def module = source.AST
    def outline = new Outline(sourceUnit: source)
    module.classes.each { cls ->
        cls.methods.findAll { !it.isScriptBody() && it.name != 'main' && it.name != 'run' }.each {
            outline.helpers[it.name] = it
        }
    }
    module.statementBlock.visit(outline)
}
